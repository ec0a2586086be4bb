"""bulkport's file-level errors: each becomes a FAILED job with its message.

    BulkportError
    ├── UnreadableFile   the file is not a spreadsheet bulkport can read
    ├── LimitExceeded    the file is larger than a configured limit allows
    ├── MappingError     no column could be matched to a customer field
    └── QueueUnreachable the job was created but could not be sent to the workers

Problems a person can fix row by row are not exceptions but row errors (data).
"""

from __future__ import annotations


class BulkportError(Exception):
    """A problem with a whole file or job, told in words a store employee understands."""


class UnreadableFile(BulkportError):
    """The upload cannot be read as a spreadsheet."""


class LimitExceeded(BulkportError):
    """The upload is over one of the configured limits."""


class MappingError(BulkportError):
    """The header row matches no customer field."""


class QueueUnreachable(BulkportError):
    """The job queue could not be reached: the job was ended FAILED, never silently lost."""

"""bulkport's errors, each told in one plain sentence.

    BulkportError
    ├── UnreadableFile    the file is not a spreadsheet bulkport can read
    ├── LimitExceeded     the file is larger than a configured limit allows
    ├── MappingError      no column could be matched to a customer field
    ├── QueueUnreachable  the broker did not take the job (the job is FAILED)
    ├── PortInUse         a port the stack needs is taken
    └── DidNotStart       a part of the stack did not come up

The file-level ones become a FAILED job with their message; the others end a command with
one line (the API answers 503 for QueueUnreachable). Problems a person can fix row by row are
not exceptions but row errors (data).
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


class PortInUse(BulkportError):
    """A port that a part of the stack needs is taken by another program."""


class DidNotStart(BulkportError):
    """A part of the stack did not come up in time."""

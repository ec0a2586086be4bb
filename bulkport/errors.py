"""bulkport's errors, each told in one plain sentence.

    BulkportError
    ├── JobProblem            a file or a job that cannot go on: a FAILED job says its message
    │   ├── UnreadableFile    the file is not a spreadsheet bulkport can read
    │   ├── LimitExceeded     the file is larger than a configured limit allows
    │   ├── MappingError      no column could be matched to a customer field
    │   ├── QueueUnreachable  the broker did not take the job (the job is FAILED)   + Unavailable
    │   ├── NotCommittable    not a READY dry run of its kind                       + Conflict
    │   └── DryRunGone        the dry run's upload is no longer stored              + Gone
    ├── NotFound              the store has no such thing (another store's is none of its own)
    │   └── NoSuchCustomer
    ├── Conflict              the state of things refuses the request, with why
    │   ├── CustomerDeleted   nothing personal is held about a deleted customer
    │   └── TransitionRefused a job state change the table forbids, or a claim lost
    ├── Invalid               values the rules refuse, each named
    ├── FieldsRefused         a customer's values refused, each problem naming its field
    │   ├── ValuesRefused     a value refused, or a new customer breaking a rule    + Invalid
    │   └── RecordRefused     a change would leave the customer breaking a rule     + Conflict
    ├── Gone                  what was asked for was deleted after its time
    ├── LinkRefused           a signed link that is not valid, or has expired
    ├── AddressRefused        a notification address bulkport may not reach
    ├── Stale                 changed since the caller read it
    ├── TooLarge              the body passed the upload size limit
    ├── Unavailable           a part of the service cannot be reached now; try again
    │   └── FileStoreUnavailable
    ├── PortInUse             a port the stack needs is taken
    └── DidNotStart           a part of the stack did not come up

What each means to a caller is decided once per entry point: ``bulkport.http.errors`` turns
them into HTTP answers, ``bulkport.cli.one_line`` into a command's last line. Problems a
person can fix row by row are not exceptions but row errors (data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bulkport.rules.problems import CellProblem


class BulkportError(Exception):
    """A problem told in words a store employee understands."""


class JobProblem(BulkportError):
    """A problem with a whole file or job: the job ends FAILED with this message."""


class UnreadableFile(JobProblem):
    """The upload cannot be read as a spreadsheet."""


class LimitExceeded(JobProblem):
    """The upload is over one of the configured limits."""


class MappingError(JobProblem):
    """The header row matches no customer field."""


class NotFound(BulkportError):
    """The store has no such thing; another store's is as if it did not exist."""


class Conflict(BulkportError):
    """The state of things refuses the request; the message says why."""


class Invalid(BulkportError):
    """Values the rules refuse; the message names each one and why."""


class Gone(BulkportError):
    """What was asked for existed, and was deleted after the time it is kept."""


class LinkRefused(BulkportError):
    """A signed link that is not valid or has expired: it grants nothing; ask for a new one."""


class AddressRefused(BulkportError):
    """A job notification address on a loopback, private or reserved network, or one that
    does not resolve: bulkport will not send there (the SSRF rule)."""


class Stale(BulkportError):
    """The thing changed since the caller read it: read it again and redo the change."""


class TooLarge(BulkportError):
    """The body passed the upload size limit."""


class Unavailable(BulkportError):
    """A part of the service cannot be reached now; the same request may work in a moment."""


class QueueUnreachable(JobProblem, Unavailable):
    """The job queue could not be reached: job ``job_id`` was ended FAILED, never silently
    lost."""

    def __init__(self, message: str, job_id: str) -> None:
        super().__init__(message)
        self.job_id = job_id


class NotCommittable(JobProblem, Conflict):
    """The job is not a READY dry run of this kind, so there is nothing to run for real."""


class DryRunGone(JobProblem, Gone):
    """The dry run's upload is no longer stored: it cannot be run as it was shown."""


class NoSuchCustomer(NotFound):
    """The store has no customer with this id."""

    def __init__(self, customer_id: int) -> None:
        super().__init__("No such customer.")
        self.customer_id = customer_id


class CustomerDeleted(Conflict):
    """The customer was deleted: nothing personal is held about them."""

    def __init__(self, customer_id: int, message: str) -> None:
        super().__init__(message)
        self.customer_id = customer_id


class TransitionRefused(Conflict):
    """A state change the transition table does not allow, or a claim that was lost."""


class FieldsRefused(BulkportError):
    """A customer's values the rules refuse, each problem naming its field, so that a page can
    show each one beside its field; the message joins them all."""

    def __init__(self, problems: Sequence[CellProblem]) -> None:
        super().__init__(
            "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
        )
        self.problems = list(problems)


class ValuesRefused(FieldsRefused, Invalid):
    """Values the import's rules refuse, or a new customer that would break a rule of a whole
    customer."""


class RecordRefused(FieldsRefused, Conflict):
    """A change whose values are each fine, but the customer it would leave breaks a rule of a
    whole customer (no name, email or phone; tax exempt without a Sales Tax Number)."""


class FileStoreUnavailable(Unavailable):
    """The store cannot take or give files now (bucket missing, credentials refused, endpoint
    down); the message says which in plain words and holds no secret."""


class PortInUse(BulkportError):
    """A port that a part of the stack needs is taken by another program."""


class DidNotStart(BulkportError):
    """A part of the stack did not come up in time."""

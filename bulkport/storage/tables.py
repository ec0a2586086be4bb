"""The database tables (SQLAlchemy Core); Alembic migrations follow this metadata."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)

from bulkport.rules.fields import FIELDS, FieldKind

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")
Moment = DateTime(timezone=True)

stores = Table(
    "stores",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    # How this store's staff write dates such as 03/04/1990 when a file does not show it.
    Column("date_order", String(3), nullable=False, server_default=text("'dmy'")),
    # ISO 3166 alpha-2: how a phone number written the national way is read in a search.
    Column("country", String(2)),
    Column("created_at", Moment, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", Moment, nullable=False),
    # A disabled user cannot authenticate; disabling also revokes every token.
    Column("disabled_at", Moment),
    # argon2 hash; a user without one can use API tokens but not sign in to the pages.
    Column("password_hash", String(255)),
    UniqueConstraint("store_id", "email"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    # SHA-256 of the token; the token itself is shown once and never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    # What the owner calls it, to tell tokens apart when revoking one.
    Column("name", String(100), nullable=False),
    Column("created_at", Moment, nullable=False),
    Column("expires_at", Moment, nullable=False),
    # Written at most once a minute per token (accounts.LAST_USED_EVERY).
    Column("last_used_at", Moment),
    Column("revoked_at", Moment),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    # SHA-256 of the random token in the signed cookie; the token itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Moment, nullable=False),
    Column("expires_at", Moment, nullable=False),
    Column("revoked_at", Moment),
)


def _customer_column(key: str, kind: FieldKind, max_length: int) -> Column[object]:
    if kind is FieldKind.BOOL:
        return Column(key, Boolean)
    if kind is FieldKind.DATE:
        return Column(key, Date)
    if max_length > 255:
        return Column(key, Text)
    return Column(key, String(max_length))


CUSTOMERS_FILLFACTOR = 90

customers = Table(
    "customers",
    metadata,
    # The Customer Record ID: assigned here, never changed by an import.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False),
    *(
        _customer_column(f.key, f.kind, f.max_length)
        for f in FIELDS
        if f.kind not in (FieldKind.READ_ONLY, FieldKind.RECORD_ID)
    ),
    # Lower-cased email: emails compare case-insensitively and are unique per store.
    Column("email_key", String(254)),
    # The words a search finds the customer by (schemas.search_words), kept with every write.
    Column("search_words", Text),
    Column("archived", Boolean, nullable=False, server_default=text("false")),
    Column("deleted_at", Moment),
    # A merged secondary: the primary it was merged into, so its former id leads there.
    Column("merged_into_id", Id, ForeignKey("customers.id")),
    Column("created_at", Moment, nullable=False),
    Column("updated_at", Moment, nullable=False),
    # The import job that created the customer (what an undo of it deletes); migration 0014.
    Column("created_by_job", String(32)),
    # Email first: a batch's lookup "email_key IN (…)" then always probes this index, even while
    # a bulk import grows the table faster than PostgreSQL's statistics follow.
    Index(
        "uq_customers_email_store",
        "email_key",
        "store_id",
        unique=True,
        sqlite_where=text("deleted_at IS NULL AND email_key IS NOT NULL"),
        postgresql_where=text("deleted_at IS NULL AND email_key IS NOT NULL"),
    ),
    Index("ix_customers_store_id_id", "store_id", "id"),
    # What deleting a customer checks (no record merged into it): an undo deletes thousands
    # in a batch. Partial: the rare merged rows alone, nothing for an import to write.
    Index(
        "ix_customers_merged_into_id",
        "merged_into_id",
        sqlite_where=text("merged_into_id IS NOT NULL"),
        postgresql_where=text("merged_into_id IS NOT NULL"),
    ),
    # Room on each page for an updated row's new version: the update is then HOT and writes
    # no index entry (an import updates customers by the hundred thousand; migration 0005).
    postgresql_with={"fillfactor": CUSTOMERS_FILLFACTOR},
)

# The customer's words as PostgreSQL's text-search vector: a search is a prefix query on it,
# served by the GIN index below (built in; pg_trgm is not in every PostgreSQL).
SEARCH_VECTOR = func.array_to_tsvector(
    func.string_to_array(customers.c.search_words, literal_column("' '"))
)
Index("ix_customers_search_words", SEARCH_VECTOR, postgresql_using="gin").ddl_if(
    dialect="postgresql"
)

sales = Table(
    "sales",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), index=True),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("sold_at", Moment, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("options", JSON, nullable=False),
    Column("idempotency_key", String(200)),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", Moment, nullable=False),
    Column("started_at", Moment),
    Column("finished_at", Moment),
    Column("updated_at", Moment, nullable=False),
    # Claim of the worker that runs it: a random token and how long the claim holds.
    Column("claim_token", String(32)),
    Column("lease_until", Moment),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("total", Integer),
    Column("processed", Integer, nullable=False, server_default=text("0")),
    Column("succeeded", Integer, nullable=False, server_default=text("0")),
    Column("failed", Integer, nullable=False, server_default=text("0")),
    Column("skipped", Integer, nullable=False, server_default=text("0")),
    Column("created", Integer, nullable=False, server_default=text("0")),
    Column("updated", Integer, nullable=False, server_default=text("0")),
    Column("unchanged", Integer, nullable=False, server_default=text("0")),
    # Data rows already committed: a redelivered task resumes after them.
    Column("checkpoint", Integer, nullable=False, server_default=text("0")),
    Column("input_file", String(255)),
    Column("report_file", String(255)),
    # An export's file; an import's backup export; when retention deleted the job's files.
    Column("output_file", String(255)),
    Column("backup_job_id", String(32)),
    Column("files_expired_at", Moment),
    Column("mapping", JSON),
    Column("ignored_columns", JSON),
    # What was found in the file: format, encoding, delimiter, sheet, header row.
    Column("source", JSON),
    Column("error", Text),
    # A split import: how many chunks its rows were cut into (``import_chunks``); while they
    # run, no claim is held on the job itself.
    Column("chunks", Integer),
    UniqueConstraint("store_id", "idempotency_key"),
    Index("ix_jobs_store_id_created_at", "store_id", "created_at"),
)

job_row_errors = Table(
    "job_row_errors",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("row", Integer, nullable=False),
    Column("column", String(255)),
    Column("field", String(50)),
    Column("code", String(50), nullable=False),
    Column("message", Text, nullable=False),
    Column("value", String(200)),
    Index("ix_job_row_errors_job_id_row", "job_id", "row"),
)

import_chunks = Table(
    "import_chunks",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("number", Integer, primary_key=True),
    # The chunk's data rows: the first one's spreadsheet row number and how many there are.
    Column("first_row", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    # Rows of this chunk committed: a chunk taken up again resumes after them.
    Column("checkpoint", Integer, nullable=False, server_default=text("0")),
    Column("claim_token", String(32)),
    Column("lease_until", Moment),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # The chunk's own share of the job's counters (the job's are their running sum).
    Column("created", Integer, nullable=False, server_default=text("0")),
    Column("updated", Integer, nullable=False, server_default=text("0")),
    Column("failed", Integer, nullable=False, server_default=text("0")),
    Column("updated_at", Moment, nullable=False),
)

saved_mappings = Table(
    "saved_mappings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False),
    Column("name", String(100), nullable=False),
    # Header as written → field key, or null to ignore the column.
    Column("columns", JSON, nullable=False),
    # Field key → column rule (overwrite, fill_empty, keep); null or absent: overwrite.
    Column("rules", JSON),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", Moment, nullable=False),
    Column("updated_at", Moment, nullable=False),
    UniqueConstraint("store_id", "name"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id")),
    Column("action", String(50), nullable=False),
    Column("job_id", String(32)),
    Column("detail", JSON, nullable=False),
    Column("created_at", Moment, nullable=False),
    Index("ix_audit_events_store_id_created_at", "store_id", "created_at"),
)

# What an import changed of each customer it updated: {field: [stored, imported]}, written in
# the batch's transaction; an undo restores the stored values (migration 0014).
import_changes = Table(
    "import_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False),
    Column("job_id", String(32), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("changes", JSON, nullable=False),
    Column("created_at", Moment, nullable=False),
    Index("ix_import_changes_job_id", "job_id", "id"),
)


customer_events = Table(
    "customer_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("at", Moment, nullable=False),
    Column("action", String(20), nullable=False),
    Column("job_id", String(32)),
    Column("user_id", Id, ForeignKey("users.id")),
    # Ids and field keys only, never values: {"other_id": 12, "fields": ["phone"]}.
    Column("detail", JSON),
)

user_permissions = Table(
    "user_permissions",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("permission", String(40), primary_key=True),
    # True: granted beyond the user's role; False: revoked from it.
    Column("granted", Boolean, nullable=False),
)

# The traces of the people a delete job has erased whose row errors, job details and audit
# details are not yet purged: written in each batch's transaction, removed by the purge that
# consumes them, so a job that stops between the two still has them purged.
pending_purges = Table(
    "pending_purges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False, index=True),
    Column("job_id", String(32), nullable=False),
    Column("traces", JSON, nullable=False),
    Column("created_at", Moment, nullable=False),
)

# A store's job notifications: the secret that signs them (kept as is, since signing needs it;
# see docs/security.md) and the address used when a job names none.
store_webhooks = Table(
    "store_webhooks",
    metadata,
    Column("store_id", Id, ForeignKey("stores.id"), primary_key=True),
    Column("secret", String(100)),
    Column("default_url", String(2000)),
    Column("rotated_at", Moment),
)

# One end-of-job POST per job: PENDING until answered 2xx (DELIVERED) or out of time (FAILED).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id"), primary_key=True),
    Column("store_id", Id, ForeignKey("stores.id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", String(300)),
    Column("created_at", Moment, nullable=False),
    Column("updated_at", Moment, nullable=False),
)

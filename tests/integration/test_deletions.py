"""Privacy deletion over HTTP, one customer and a spreadsheet of them, on both databases:
permissions, confirmation, dry run then commit, and nothing left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from support import (
    bearer,
    csv_text,
    get_job,
    import_now,
    local_files,
    sqlite_file_bytes,
    stage_list,
)

from bulkport.schemas.accounts import Role
from bulkport.schemas.jobs import JobKind
from bulkport.schemas.lifecycle import anonymized_name
from bulkport.storage.accounts import User
from bulkport.storage.tables import metadata
from bulkport.tasks.context import Context
from bulkport.tasks.customer_changes import ARCHIVE, MERGE
from bulkport.tasks.customer_lists import ListKind, run_list
from bulkport.tasks.deletions import DELETE
from bulkport.tasks.imports import run_import

API = "/api/v1/customers"
HEADER = ["First Name", "Last Name", "Email", "Phone", "Company"]
PEOPLE = [
    ["Zelda", "Quixworth", "zelda.q@example.com", "+31 6 9876 5401", "Zedcorp"],
    ["Yorick", "Pemberlane", "yorick.p@example.com", "+31 6 9876 5402", ""],
    ["Xanthe", "Oddleigh", "xanthe.o@example.com", "+31 6 9876 5403", ""],
    ["Walter", "Nightsbridge", "walter.n@example.com", "+31 6 9876 5404", ""],
    ["Walt", "Nightsbridge", "", "+31 6 9876 5405", "Nightco"],
    ["Vera", "Mallowfield", "vera.m@example.com", "+31 6 9876 5406", ""],
]
NEW_PHONE = "+31 6 1234 0001"
SPECS: dict[JobKind, ListKind] = {s.kind: s for s in (ARCHIVE, MERGE, DELETE)}


def upload(client: TestClient, auth: dict[str, str], path: str, content: str, **form: str) -> Any:
    return client.post(path, headers=auth, files={"file": ("list.csv", content)}, data=form)


def run_queued(ctx: Context, response: Any) -> dict[str, Any]:
    """Run the job an upload queued, as the worker would, and answer its final view."""
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    kind = JobKind(job["kind"])
    if kind is JobKind.IMPORT:
        run_import(ctx, job["id"])
    else:
        run_list(ctx, job["id"], SPECS[kind])
    return job


def job_of(client: TestClient, auth: dict[str, str], job: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/api/v1/jobs/{job['id']}", headers=auth).json()
    return found


def sell(client: TestClient, auth: dict[str, str], customer_id: int, amount: str) -> int:
    body = {"customer_id": customer_id, "amount": amount, "sold_at": "2026-03-01T12:00:00Z"}
    response = client.post("/api/v1/sales", headers=auth, json=body)
    return int(response.status_code)


def everything_stored(ctx: Context) -> str:
    """Every row of every table and every stored file, as one casefolded text."""
    parts: list[str] = []
    with ctx.engine.connect() as conn:
        for table in metadata.sorted_tables:
            parts.extend(str(tuple(row)) for row in conn.execute(select(table)))
    for path in Path(local_files(ctx).root).rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts).casefold()


def traces(person: list[str]) -> list[str]:
    return [v.casefold() for v in person if v] + [person[3].replace(" ", "")]


def assert_frozen(client: TestClient, auth: dict[str, str], ids: list[int]) -> None:
    """A deleted customer (ids[0]) can no longer be changed, un-archived, merged or sold to."""
    zelda = f"{API}/{ids[0]}"
    assert client.get(zelda, headers=auth).json()["name"] == anonymized_name(ids[0])
    assert client.patch(zelda, headers=auth, json={"first_name": "Z"}).status_code == 409
    assert client.post(f"{zelda}/unarchive", headers=auth).status_code == 409
    merged = client.post(f"{API}/{ids[2]}/merge", headers=auth, json={"secondary_id": ids[0]})
    assert merged.status_code == 409
    assert sell(client, auth, ids[0], "1.00") == 409


def test_a_store_deletes_three_customers_and_nothing_about_them_is_left(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User
) -> None:
    # Import customers and add sales.
    imported = run_queued(ctx, upload(client, auth, "/api/v1/imports", csv_text([HEADER, *PEOPLE])))
    assert job_of(client, auth, imported)["counts"]["created"] == 6
    # An import that changes Zelda's phone keeps her old one for its undo.
    changed = [[*PEOPLE[0][:3], NEW_PHONE, PEOPLE[0][4]]]
    updated = run_queued(ctx, upload(client, auth, "/api/v1/imports", csv_text([HEADER, *changed])))
    assert job_of(client, auth, updated)["counts"]["updated"] == 1
    ids = [c["id"] for c in reversed(client.get(API, headers=auth).json()["customers"])]
    for n, customer_id in enumerate(ids):
        assert sell(client, auth, customer_id, f"{10 * (n + 1)}.00") == 201
    # Merge the two Nightsbridges: the primary keeps its values and gains the company.
    merged = client.post(f"{API}/{ids[3]}/merge", headers=auth, json={"secondary_id": ids[4]})
    assert merged.json()["company"] == "Nightco"
    assert merged.json()["first_name"] == "Walter"
    # Archive one and find it again.
    client.post(f"{API}/{ids[5]}/archive", headers=auth)
    found = client.get(API, headers=auth, params={"archived": "only", "search": "mallow"}).json()
    assert [c["id"] for c in found["customers"]] == [ids[5]]
    # Delete three from a spreadsheet: a staff token may not, an admin's may.
    listing = csv_text(
        [["Email"], ["zelda.q@example.com"], ["YORICK.P@example.com"], ["walter.n@example.com"]]
    )
    staff = bearer(ctx, "north", "staff@north.example", Role.STAFF)
    assert upload(client, staff, "/api/v1/deletions", listing, confirm="true").status_code == 403
    assert upload(client, auth, "/api/v1/deletions", listing).status_code == 422
    dry = run_queued(ctx, upload(client, auth, "/api/v1/deletions", listing, dry_run="true"))
    assert job_of(client, auth, dry)["counts"]["updated"] == 3
    assert len(client.get(API, headers=auth).json()["customers"]) == 4  # nothing changed
    link = job_of(client, auth, dry)["links"]["commit"]
    assert link.endswith(f"/api/v1/deletions/{dry['id']}/commit")
    commit = client.post(link, headers=auth, params={"confirm": "true"})
    again = client.post(link, headers=auth, params={"confirm": "true"})
    assert again.json()["id"] == commit.json()["id"]  # a second click starts nothing new
    done = job_of(client, auth, run_queued(ctx, commit))
    assert done["status"] == "READY", done["error"]
    assert (done["counts"]["updated"], done["counts"]["failed"]) == (3, 0)
    report_file = client.get(f"/api/v1/jobs/{done['id']}/report", headers=auth)
    assert report_file.text.splitlines()[1].split(",")[:4] == ["2", str(ids[0]), "", "deleted"]
    # Nothing about them in any table or stored file.
    stored = everything_stored(ctx)
    for person in (PEOPLE[0], PEOPLE[1], PEOPLE[3]):
        for value in traces(person):
            assert value not in stored, value
    assert NEW_PHONE.replace(" ", "") not in stored and NEW_PHONE not in stored  # undo data too
    # On SQLite, not in the database's own files either (free pages, write-ahead log).
    if ctx.engine.dialect.name == "sqlite":
        database = Path(str(ctx.engine.url.database))
        raw = sqlite_file_bytes(database)
        assert b"zelda.q@example.com" not in raw and b"Quixworth" not in raw
    # The sales report still adds up, the deleted under their anonymized ids.
    report = client.get("/api/v1/reports/sales-by-customer", headers=auth).json()
    assert sum(float(r["total"]) for r in report) == 210.0
    names = {r["customer_id"]: r["name"] for r in report}
    assert names[ids[0]] == anonymized_name(ids[0])
    assert names[ids[3]] == anonymized_name(ids[3])  # with the merged secondary's sale
    by_name = client.get(
        "/api/v1/reports/sales-by-customer", headers=auth, params={"search": "zelda"}
    )
    assert by_name.json() == []
    assert_frozen(client, auth, ids)
    # Its email is free for a new customer.
    assert client.post(API, headers=auth, json={"email": "zelda.q@example.com"}).status_code == 201
    # Another store's ids answer 404.
    south = bearer(ctx, "south", "admin@south.example", Role.ADMIN)
    assert client.get(f"{API}/{ids[2]}", headers=south).status_code == 404
    assert (
        client.post(f"{API}/{ids[2]}/delete", headers=south, params={"confirm": "true"}).status_code
        == 404
    )
    assert client.get(f"/api/v1/jobs/{done['id']}", headers=south).status_code == 404


def test_one_customer_is_deleted_at_once_with_permission_and_confirmation(
    client: TestClient, auth: dict[str, str], ctx: Context, admin: User
) -> None:
    ann = client.post(
        API, headers=auth, json={"first_name": "Annabeth", "email": "annabeth@example.com"}
    ).json()
    path = f"{API}/{ann['id']}/delete"
    staff = bearer(ctx, "north", "staff@north.example", Role.STAFF)
    assert client.post(path, headers=staff, params={"confirm": "true"}).status_code == 403
    assert client.post(path, headers=auth).status_code == 422
    deleted = client.post(path, headers=auth, params={"confirm": "true"})
    assert deleted.status_code == 200
    body = deleted.json()
    assert (body["deleted"], body["archived"], body["email"], body["first_name"]) == (
        True,
        True,
        None,
        None,
    )
    assert client.post(path, headers=auth, params={"confirm": "true"}).status_code == 409
    assert "annabeth" not in everything_stored(ctx)


def test_a_user_granted_customers_delete_may_delete(
    client: TestClient, auth: dict[str, str], ctx: Context
) -> None:
    from bulkport.storage import accounts

    staff = bearer(ctx, "north", "staff@north.example", Role.STAFF)
    with ctx.engine.connect() as conn:
        user = accounts.users_by_email(conn, "staff@north.example", "north")[0]
    client.put(f"/api/v1/users/{user.id}/permissions/customers:delete", headers=auth)
    ann = client.post(API, headers=auth, json={"first_name": "Ann"}).json()
    answer = client.post(f"{API}/{ann['id']}/delete", headers=staff, params={"confirm": "true"})
    assert answer.status_code == 200


def test_a_delete_job_reports_a_customer_named_by_id_then_email_unknown_and_deleted_rows(
    client: TestClient, auth: dict[str, str], ctx: Context
) -> None:
    a = client.post(API, headers=auth, json={"first_name": "A", "email": "a@example.com"}).json()
    b = client.post(API, headers=auth, json={"first_name": "B"}).json()
    client.post(f"{API}/{b['id']}/delete", headers=auth, params={"confirm": "true"})
    listing = csv_text([["Customer Record ID", "Email"], [str(a["id"]), ""], ["", "a@example.com"],
                        [str(b["id"]), ""], ["999", ""]])  # fmt: skip
    job = job_of(
        client,
        auth,
        run_queued(ctx, upload(client, auth, "/api/v1/deletions", listing, confirm="true")),
    )
    counts = job["counts"]
    assert (job["status"], counts["updated"], counts["unchanged"], counts["failed"]) == (
        "READY", 1, 0, 3,
    )  # fmt: skip
    errors = client.get(f"/api/v1/jobs/{job['id']}/errors", headers=auth).json()
    assert [e["code"] for e in errors] == ["repeated_row", "deleted_customer", "unknown_customer"]


def test_two_delete_jobs_racing_on_the_same_customers_each_end_ready_with_exact_counts(
    ctx: Context, admin: User
) -> None:
    import threading

    rows = [[f"Name{i}", f"Race{i}", f"race{i}@example.com", "", ""] for i in range(200)]
    import_now(ctx, admin, csv_text([HEADER, *rows]))
    listing = csv_text([["Customer Record ID"], *[[str(i)] for i in range(1, 201)]])
    ids = [stage_list(ctx, admin, DELETE, listing, confirm=True) for _ in range(2)]
    threads = [threading.Thread(target=run_list, args=(ctx, job_id, DELETE)) for job_id in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    jobs = [get_job(ctx, admin, job_id) for job_id in ids]
    assert [j.status.value for j in jobs] == ["READY", "READY"]
    assert sum(j.counts.updated for j in jobs) == 200
    assert sum(j.counts.failed for j in jobs) == 200  # the other job's rows: already deleted
    assert "race1@example.com" not in everything_stored(ctx)

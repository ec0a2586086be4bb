"""The undo of an import from its job page, on both databases: the button starts the dry run,
whose page previews it and asks for a confirmation before the undo runs."""

from __future__ import annotations

from fastapi.testclient import TestClient
from support import csrf_of, page_sign_in, stage_import, stored_customers

from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.tasks.imports import run_import
from bulkport.tasks.undo import run_undo


def test_an_import_is_undone_from_its_job_page_after_a_previewed_confirmation(
    client: TestClient, ctx: Context, staff: User, sent: list[str]
) -> None:
    imported = stage_import(ctx, staff, "Email,First Name\r\nann@example.com,Ann\r\n")
    run_import(ctx, imported)
    assert page_sign_in(client, staff.email) == 303
    page = client.get(f"/jobs/{imported}").text
    assert "Undo this import" in page
    csrf = csrf_of(page)
    preview = client.post(
        f"/jobs/{imported}/undo", data={"csrf": csrf, "dry_run": "yes"}, follow_redirects=False
    )
    assert preview.status_code == 303
    dry = preview.headers["location"].rsplit("/", 1)[-1]
    assert sent[-1] == dry
    run_undo(ctx, dry)
    page = client.get(f"/jobs/{dry}").text
    assert "Would be undone" in page and "data-undo-confirm" in page
    assert len(stored_customers(ctx, staff)) == 1  # the preview changed nothing
    unconfirmed = client.post(f"/jobs/{imported}/undo", data={"csrf": csrf})
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    confirmed = client.post(
        f"/jobs/{imported}/undo", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert confirmed.status_code == 303
    run_undo(ctx, sent[-1])
    assert stored_customers(ctx, staff) == []
    page = client.get(f"/jobs/{imported}").text
    assert f'undone by job <a href="/jobs/{sent[-1]}">' in page
    assert "Undo this import" not in page

"""The access log's filter: no query string, signed-link token or mapping name reaches a log
line."""

from __future__ import annotations

import logging

import pytest

from bulkport.http.access_log import HideQueriesAndTokens

TOKEN = "eyJzdG9yZSI6MX0.c2lnbmF0dXJlLXRoYXQtd29ya3M"


def line(*args: object, msg: str = '%s - "%s %s HTTP/%s" %d') -> str:
    """What uvicorn's access logger would write for a record with these arguments."""
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)
    assert HideQueriesAndTokens().filter(record)
    return record.getMessage()


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/customers?search=jane.quistorp%40example.org", "/customers?…"),
        ("/customers/15/merge?search=Lotte+van+%27t+Hof", "/customers/15/merge?…"),
        ("/api/v1/customers?search=%2B31%206%209876&limit=5", "/api/v1/customers?…"),
        ("/jobs?page=2", "/jobs?…"),
        ("/jobs", "/jobs"),
        (f"/api/v1/downloads/{TOKEN}", "/api/v1/downloads/…"),
        (f"/api/v1/downloads/{TOKEN}?again=1", "/api/v1/downloads/…?…"),
        ("/api/v1/mappings/zorglub.probe%40example.com", "/api/v1/mappings/…"),
        ("/api/v1/mappings", "/api/v1/mappings"),
    ],
)
def test_a_logged_path_keeps_no_query_string_and_no_link_token(path: str, logged: str) -> None:
    written = line("127.0.0.1:50000", "GET", path, "1.1", 200)
    assert written == f'127.0.0.1:50000 - "GET {logged} HTTP/1.1" 200'


def test_a_preformatted_line_loses_its_query_strings_and_tokens_too() -> None:
    written = line(
        msg=f"GET /customers?search=ann@example.com and /api/v1/downloads/{TOKEN}?x=1 done"
    )
    assert written == "GET /customers?… and /api/v1/downloads/…?… done"
    assert "ann@" not in written and TOKEN not in written

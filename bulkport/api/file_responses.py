"""Answers that hand over a stored file: a redirect to the store's own short-lived URL where it
has one (S3), else the bytes sent by the API (the local folder)."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from fastapi import status
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from bulkport.tasks.context import Context
from bulkport.usecases.jobs import StoredFile

# Documented on every route that answers with a stored file.
REDIRECT_RESPONSE: dict[int | str, dict[str, Any]] = {
    status.HTTP_307_TEMPORARY_REDIRECT: {
        "description": "The file store serves the file itself: `Location` is a link to it "
        "that works for a short time"
    }
}


def stored_file(ctx: Context, file: StoredFile) -> Response:
    """The stored file as a download under its name; the use case that found it audited it."""
    key, media_type, filename = file.key, file.media_type, file.filename
    url = ctx.files.download_url(key, filename, media_type)
    if url is not None:
        # Never cached: the link stops working within minutes.
        return RedirectResponse(
            url, status.HTTP_307_TEMPORARY_REDIRECT, headers={"Cache-Control": "no-store"}
        )
    held = ExitStack()
    path = held.enter_context(ctx.files.local(key))
    # The local copy (if the store made one) stays until the response has been sent.
    return FileResponse(
        path, media_type=media_type, filename=filename, background=BackgroundTask(held.close)
    )

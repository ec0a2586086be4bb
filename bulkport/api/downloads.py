"""Downloads through short-lived signed links, bound to a store, a job and one of its files.

The caller asks for a link with their token (so only the owner's store can); the link itself
then works in a browser for a few minutes, and every download is written to the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.api.file_responses import REDIRECT_RESPONSE, stored_file
from bulkport.api.jobs import JobId
from bulkport.http.deps import ContextDep, Staff, client_of
from bulkport.http.links import link
from bulkport.schemas.downloads import DownloadFile
from bulkport.usecases import downloads
from bulkport.usecases.downloads import ZIP_TYPE
from bulkport.usecases.jobs import XLSX_TYPE

router = APIRouter(prefix="/api/v1", tags=["downloads"], responses=ERROR_RESPONSES)


class DownloadLink(BaseModel):
    """A signed link to one file, good until ``expires_at``."""

    url: str
    expires_at: datetime
    filename: str


@router.get("/jobs/{job_id}/download-url", name="link", response_model=DownloadLink)
def download_url(
    request: Request,
    ctx: ContextDep,
    user: Staff,
    job_id: JobId,
    file: Annotated[DownloadFile | None, Query(description="Default: the job's main file.")] = (
        None
    ),
) -> DownloadLink:
    """A link that downloads the job's file for the next few minutes, without a token."""
    issued = downloads.issue_link(ctx, user, job_id, file, client=client_of(request))
    url = link(request, "downloads-get", token=issued.token)
    return DownloadLink(url=url, expires_at=issued.expires_at, filename=issued.filename)


@router.get(
    "/downloads/{token}",
    name="get",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/csv": {}, XLSX_TYPE: {}, ZIP_TYPE: {}}},
        403: {"description": "The link is not valid or has expired"},
        404: {"description": "No such file"},
        410: {"description": "The file was deleted after its retention time"},
        **REDIRECT_RESPONSE,
    },
)
def download(request: Request, ctx: ContextDep, token: str) -> Response:
    """Stream the file a signed link names, and record the download with the user the link
    was made for and the client's address. A link works, as often as asked, until it expires."""
    return stored_file(ctx, downloads.resolve_link(ctx, token, client=client_of(request)))

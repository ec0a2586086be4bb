"""The import pages: choose a file and options, check the column mapping, start the job.

The upload is stored under ``previews/`` (swept after an hour if never started) with the
options chosen; the mapping screen previews it with ``tasks.previews``; Start copies it to the
job's place and queues the job with ``usecases.imports``, as the API does.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from bulkport.errors import Invalid, JobProblem, MappingError, QueueUnreachable
from bulkport.http.deps import ContextDep
from bulkport.http.rate_limits import upload_quota
from bulkport.http.uploads import receive_file, upload_name
from bulkport.rules.fields import WRITABLE_KEYS, fold_header
from bulkport.schemas.jobs import BlankCells, ImportMode, ImportOptions, MatchOn
from bulkport.schemas.mappings import ColumnRule
from bulkport.storage import job_rows
from bulkport.storage.sessions import WebSession
from bulkport.tasks.context import Context
from bulkport.tasks.previews import preview
from bulkport.usecases import imports, mappings
from bulkport.web import auth, lists
from bulkport.web.auth import SignedIn
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
# The options the upload form offers; anything else in the form is refused.
FORM_OPTIONS = ("mode", "match_on", "blank_cells", "dry_run", "backup")
SAMPLES = 3


def _folder(staged_id: str) -> str:
    return f"previews/{staged_id}"


def _choices() -> dict[str, Any]:
    return {
        "modes": list(ImportMode),
        "match_ons": list(MatchOn),
        "blank_cells_choices": list(BlankCells),
    }


@router.get("/imports/new")
def new_import(request: Request, ctx: ContextDep, web: SignedIn) -> HTMLResponse:
    """Choose a file and the options of an import."""
    return render(request, ctx, "import_new.html", web, nav="imports", **_choices())


@router.post("/imports/new")
async def upload(request: Request, ctx: ContextDep, web: SignedIn) -> Response:
    """Store the chosen file with its options, then show its mapping screen."""
    staged_id = job_rows.new_job_id()
    folder = _folder(staged_id)

    def admit(fields: dict[str, str]) -> None:
        # The form's token comes before its file: checked, and only then counted, before a
        # byte of the file is kept.
        auth.check_csrf(web.csrf_token, fields.get("csrf"))
        upload_quota(ctx, web.user)

    try:
        received = await receive_file(request, ctx, f"{folder}/upload", admit)
        chosen = {k: v for k, v in received.fields.items() if k in FORM_OPTIONS and v}
        options = ImportOptions.model_validate(
            {**chosen, "filename": upload_name(received.filename)}
        )
    except ValidationError as exc:
        ctx.files.delete_tree(folder)
        problem = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        return render(
            request, ctx, "import_new.html", web, nav="imports", problem=problem,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, **_choices(),
        )  # fmt: skip
    except HTTPException as exc:
        ctx.files.delete_tree(folder)
        if exc.status_code == status.HTTP_403_FORBIDDEN:
            raise
        return render(
            request, ctx, "import_new.html", web, nav="imports", problem=exc.detail,
            status_code=exc.status_code, **_choices(),
        )  # fmt: skip
    staged = {"store_id": web.user.store_id, "options": options.model_dump(mode="json")}
    with ctx.files.writer(f"{folder}/staged.json") as out:
        out.write(json.dumps(staged).encode())
    return RedirectResponse(f"/imports/staged/{staged_id}", status.HTTP_303_SEE_OTHER)


def _staged(ctx: Context, web: WebSession, staged_id: str) -> ImportOptions:
    """The options of a stored upload of this store; 404 for any other."""
    key = f"{_folder(staged_id)}/staged.json"
    if not staged_id.isalnum() or not ctx.files.exists(key):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "This upload is no longer kept (uploads not started are removed after an hour). "
            "Choose the file again.",
        )
    with ctx.files.open(key) as handle:
        staged = json.loads(handle.read())
    if staged["store_id"] != web.user.store_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such upload.")
    return ImportOptions.model_validate(staged["options"])


@router.get("/imports/staged/{staged_id}")
def mapping_screen(
    request: Request, ctx: ContextDep, web: SignedIn, staged_id: str
) -> HTMLResponse:
    """Each column of the file, its sample values and the field it goes to."""
    options = _staged(ctx, web, staged_id)
    return _mapping_page(request, ctx, web, staged_id, options)


def _mapping_page(
    request: Request,
    ctx: Context,
    web: WebSession,
    staged_id: str,
    options: ImportOptions,
    *,
    message: str | None = None,
    problem: str | None = None,
    chosen_mapping: str = "",
    code: int = 200,
) -> HTMLResponse:
    try:
        with ctx.files.local(f"{_folder(staged_id)}/upload") as path:
            found = preview(ctx, web.user.store_id, path, options)
    except JobProblem as exc:
        # A file no import could read: say why and let them choose another.
        ctx.files.delete_tree(_folder(staged_id))
        return render(
            request, ctx, "import_new.html", web, nav="imports", status_code=422,
            problem=f"{options.filename}: {exc}", **_choices(),
            list_hint=isinstance(exc, MappingError),
        )  # fmt: skip
    except ValueError as exc:
        # A mapping the person chose that the file cannot take: show the guess and why.
        problem = str(exc)
        found = preview(ctx, web.user.store_id, path, options.model_copy(update={"mapping": None}))
    saved = mappings.list_mappings(ctx, web.user)
    columns = []
    for index, column in enumerate(found["columns"]):
        samples = [
            cells[index]
            for row in found["rows"]
            if len(cells := row["cells"]) > index and str(cells[index]).strip()
        ][:SAMPLES]
        # In row order, each message once.
        column_errors = list(
            dict.fromkeys(
                e["message"]
                for row in found["rows"]
                for e in row["errors"]
                if e.get("column") == column["header"]
            )
        )
        columns.append({**column, "index": index, "samples": samples, "errors": column_errors})
    return render(
        request, ctx, "mapping.html", web, nav="imports", status_code=code,
        staged_id=staged_id, options=options, found=found, columns=columns,
        saved=saved, chosen_mapping=chosen_mapping, message=message, problem=problem,
        list_hint=lists.list_hint(web, columns), column_rules=options.column_rules or {},
        rule_choices=RULE_CHOICES,
    )  # fmt: skip


def _mapping_from_form(form: FormData) -> dict[str, str]:
    """Header as written → field key ("" ignores the column), from the mapping screen."""
    chosen: dict[str, str] = {}
    index = 0
    while (header := form.get(f"header-{index}")) is not None:
        target = form.get(f"field-{index}")
        chosen[str(header)] = str(target or "")
        index += 1
    return chosen


# The rule select's choices, in the words of the mapping screen.
RULE_CHOICES = {
    ColumnRule.OVERWRITE: "Replace the stored value",
    ColumnRule.FILL_EMPTY: "Fill only where empty",
    ColumnRule.KEEP: "Keep the stored value",
}
_RULES = {rule.value: rule for rule in ColumnRule}


def _rules_from_form(form: FormData) -> dict[str, ColumnRule]:
    """Field key → rule, from each mapped column's rule select (overwrite is the default and
    is left out; the first column of a field with a rule decides it)."""
    rules: dict[str, ColumnRule] = {}
    index = 0
    while form.get(f"header-{index}") is not None:
        key = str(form.get(f"field-{index}") or "")
        rule = _RULES.get(str(form.get(f"rule-{index}") or ""), ColumnRule.OVERWRITE)
        if key in WRITABLE_KEYS and rule is not ColumnRule.OVERWRITE:
            rules.setdefault(key, rule)
        index += 1
    return rules


@router.post("/imports/staged/{staged_id}")
async def mapping_action(
    request: Request, ctx: ContextDep, web: SignedIn, staged_id: str
) -> Response:
    """Check the chosen mapping again, use or save a saved one, or start the import."""
    options = _staged(ctx, web, staged_id)
    form = await request.form(max_files=0, max_fields=1100)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    chosen = _mapping_from_form(form)
    rules = _rules_from_form(form)
    action = str(form.get("action") or "check")
    saved_name = str(form.get("saved_mapping") or "")[:100]
    message = None
    if action == "use" and saved_name:
        saved = mappings.find_mapping(ctx, web.user, saved_name)
        if saved is not None:
            remembered = {fold_header(h): key or "" for h, key in saved.columns.items()}
            chosen = {h: remembered.get(fold_header(h), f) for h, f in chosen.items()}
            rules = {key: ColumnRule(rule) for key, rule in saved.rules.items()}
            message = f"Using the saved mapping {saved_name!r}; check it and start."
    options = options.model_copy(update={"mapping": chosen or None, "column_rules": rules or None})
    if action == "save":
        name = str(form.get("save_name") or "").strip()[:100]
        if not name:
            return _mapping_page(
                request, ctx, web, staged_id, options, code=422,
                problem="Give the mapping a name to save it under.",
            )  # fmt: skip
        mappings.save_mapping(ctx, web.user, name, chosen, check_targets=False, rules=rules)
        message = f"Saved this mapping as {name!r}; pick it for your next file."
        saved_name = name
    if action == "start":
        return _start(request, ctx, web, staged_id, options)
    return _mapping_page(
        request, ctx, web, staged_id, options, message=message, chosen_mapping=saved_name
    )


def _start(
    request: Request, ctx: Context, web: WebSession, staged_id: str, options: ImportOptions
) -> Response:
    """Create the import job from the stored file with the chosen mapping, then show it."""
    job_id = job_rows.new_job_id()
    try:
        # A queue that cannot be reached leaves the job FAILED with the reason, its page shows.
        with contextlib.suppress(QueueUnreachable):
            imports.import_staged(
                ctx, web.user, f"{_folder(staged_id)}/upload", job_id=job_id, options=options
            )
    except Invalid as exc:
        return _mapping_page(request, ctx, web, staged_id, options, problem=str(exc), code=422)
    ctx.files.delete_tree(_folder(staged_id))
    return RedirectResponse(f"/jobs/{job_id}", status.HTTP_303_SEE_OTHER)

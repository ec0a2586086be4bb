"""Deleting one customer for privacy from the pages: only for a user with the
``customers:delete`` permission, only with the warning's checkbox ticked, both checked here on
the server; then the same use case the API calls, by the delete jobs' rule."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from bulkport.http.deps import ContextDep, RowId
from bulkport.schemas.accounts import Permission
from bulkport.usecases.customers import delete_customer as delete_now
from bulkport.web import auth
from bulkport.web.auth import SignedIn
from bulkport.web.customers import customer_values, page_customer
from bulkport.web.pages import render

router = APIRouter(include_in_schema=False)
NOT_ALLOWED = (
    "Your role does not allow deleting customers. Ask an admin, or for the "
    "Customers - Customer Deletion permission."
)
TICK_FIRST = "Tick the box to confirm you have read and understood the warning."


@router.post("/customers/{customer_id}/delete")
async def delete_customer(
    request: Request, ctx: ContextDep, web: SignedIn, customer_id: RowId
) -> Response:
    """Erase the customer's personal details for good, keeping the id and the sales."""
    if not web.user.can(Permission.CUSTOMERS_DELETE):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_ALLOWED)
    form = await request.form(max_files=0, max_fields=20)
    auth.check_csrf(web.csrf_token, str(form.get("csrf") or ""))
    customer = page_customer(ctx, web, customer_id)
    if form.get("confirm") != "yes":
        values = customer_values(ctx, web, customer, delete_problem=TICK_FIRST)
        return render(
            request, ctx, "customer.html", web, nav="customers",
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, **values,
        )  # fmt: skip
    delete_now(ctx, web.user, customer_id)
    return RedirectResponse(f"/customers/{customer_id}?done=deleted", status.HTTP_303_SEE_OTHER)

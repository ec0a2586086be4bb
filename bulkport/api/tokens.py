"""The caller's own API tokens: list them, and revoke the one in use."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from bulkport.api.errors import ERROR_RESPONSES
from bulkport.http.deps import ContextDep, UserDep
from bulkport.schemas.accounts import TokenView
from bulkport.usecases import accounts

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=ERROR_RESPONSES)


@router.get("", name="list", response_model=list[TokenView])
def list_tokens(ctx: ContextDep, user: UserDep) -> list[TokenView]:
    """The caller's own tokens, newest first: name, created, expires, last used, revoked;
    never a token's secret."""
    return accounts.tokens_of(ctx, user)


@router.delete("/current", name="revoke_current", status_code=status.HTTP_204_NO_CONTENT)
def revoke_current(ctx: ContextDep, user: UserDep) -> Response:
    """Revoke the token this request is made with; the next call with it answers 401."""
    accounts.revoke_current_token(ctx, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Request dependencies: the process's context and the caller, found by bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bulkport.schemas.accounts import Permission
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context
from bulkport.usecases.accounts import authenticate

_bearer = HTTPBearer(auto_error=False, description="An API token from `bulkport users create`.")


def get_context(request: Request) -> Context:
    """The database, file store and settings of this API process."""
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(get_context)]


def client_of(request: Request) -> str | None:
    """The client's address, as the audit log records it."""
    return request.client.host if request.client else None


UNAUTHENTICATED = "A valid API token is needed: send 'Authorization: Bearer <token>'."


def get_user(
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The caller; 401 without a token that works (known, not revoked or expired, of a user
    who is not disabled)."""
    found = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        found = authenticate(ctx, credentials.credentials)
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"}
        )
    return found


UserDep = Annotated[User, Depends(get_user)]


def require(permission: Permission) -> object:
    """A dependency that answers 403 unless the caller's role grants ``permission``."""

    def check(user: UserDep) -> User:
        if not user.can(permission):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"Your role does not allow this ({permission})."
            )
        return user

    return Depends(check)


# Anyone who may work with customers: staff and admins.
Staff = Annotated[User, require(Permission.CUSTOMERS_BASIC)]
# Who may delete customers for privacy: admins, and users granted customers:delete.
Deleter = Annotated[User, require(Permission.CUSTOMERS_DELETE)]

# A customer's or user's id in a path: what the databases store and JSON carries exactly.
RowId = Annotated[int, Path(ge=1, le=2**53 - 1)]

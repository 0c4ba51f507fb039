"""The one guard every endpoint uses: bearer token -> 401, missing scope -> 403."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import current_app, g, request

from shared.auth import authenticate, record_token_use, require_scopes
from shared.errors import Unauthorized
from shared.models import utcnow
from shared.web.db import db_session, engine_of

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token and its user, as far as a view needs to know."""

    token_id: str
    user_id: str
    username: str
    role: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """How audit rows and histories name this caller."""
        return self.username


def current_principal() -> Principal:
    """The authenticated caller of this request (only inside a guarded view)."""
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized("a bearer token is required")
    return cast(Principal, principal)


def require_scope(*scopes: str) -> Callable[[F], F]:
    """Decorate a view: it runs only for a live token holding every scope given."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            authorize(*scopes)
            return view(*args, **kwargs)

        # The request guard reads this to decide who may call before it looks at the body.
        guarded.required_scopes = scopes  # type: ignore[attr-defined]
        return cast(F, guarded)

    return decorator


def authorize(*scopes: str) -> Principal:
    """The caller of this request, if its token is live and holds every scope (else 401/403)."""
    principal = _authenticate_request()
    require_scopes(principal.scopes, *scopes)
    return principal


def _bearer_value() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _authenticate_request() -> Principal:
    if "principal" in g:
        return cast(Principal, g.principal)
    # The lookup shares the request's session (one connection per request); the rare
    # last_used_at write commits on its own so it never rides on the view's transaction.
    holder = authenticate(session=db_session(), plaintext=_bearer_value())
    if holder.use_is_stale(utcnow()):
        with engine_of(current_app).begin() as connection:
            record_token_use(connection=connection, holder=holder)
    principal = Principal(
        token_id=holder.token_id,
        user_id=holder.user_id,
        username=holder.username,
        role=holder.role,
        scopes=holder.scopes,
    )
    g.principal = principal
    return principal

"""Bearer tokens with exactly the scopes a test asks for, issued once per scope set."""

from __future__ import annotations

import os

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from shared.auth import ROLE_SCOPES, create_user, issue_token

# Least trusted first: a test's user gets the smallest role its scopes allow, as an operator would.
ROLES_BY_TRUST = ("readonly", "technician", "service", "admin")


def least_role_for(scopes: tuple[str, ...]) -> str:
    """The least trusted role allowed to hold every one of these scopes."""
    return next(role for role in ROLES_BY_TRUST if ROLE_SCOPES[role].issuperset(scopes))


class TokenMaker:
    """Issues (and remembers) a token per scope set, for its own user, in one database."""

    def __init__(self, engine: Engine, label: str = "test") -> None:
        self.engine = engine
        self.label = label
        self._issued: dict[tuple[str, ...], str] = {}

    def __call__(self, *scopes: str) -> str:
        key = tuple(sorted(scopes))
        if key not in self._issued:
            self._issued[key] = self._issue(key)
        return self._issued[key]

    def headers(self, *scopes: str, request_id: str | None = None) -> dict[str, str]:
        """Request headers carrying a token with these scopes (and a request id if given)."""
        headers = {"Authorization": f"Bearer {self(*scopes)}"}
        if request_id:
            headers["X-Request-ID"] = request_id
        return headers

    def _issue(self, scopes: tuple[str, ...]) -> str:
        with Session(bind=self.engine, expire_on_commit=False) as session:
            user = create_user(
                session=session,
                username=f"{self.label}-{os.urandom(6).hex()}",
                role=least_role_for(scopes),
            )
            _, plaintext = issue_token(session=session, user=user, name=self.label, scopes=scopes)
            session.commit()
        return plaintext

"""Idempotency-Key on creating POSTs: a retry gets the first answer back, not a second write.

A caller that got no answer (a 503, a dropped connection) cannot know whether its write
committed. With `Idempotency-Key`, the key is claimed by an INSERT in the request's own
transaction, before the view writes, so it commits together with the write or not at all:

- a retry after the first committed finds the key and gets the first answer (status and body,
  with `Idempotent-Replayed: true`); nothing is written again;
- a retry after the first rolled back finds no key and writes;
- a concurrent retry's INSERT waits on the unique key until the first transaction ends, then
  waits (up to ANSWER_WAIT_SECONDS) for the first answer and replays it.

A key belongs to the API token that sent it (two tokens' same key are two keys) and lives
KEY_LIFETIME; the same key with another method, path or body is a 409 naming the key. Only
2xx answers are kept: a refused request changes nothing, so its retry is simply run again.

Use: `@idempotent(blp)` between `@blp.requires(...)` and `@blp.arguments(...)`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response, make_response, request
from flask_smorest import Blueprint
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.errors import Conflict, ValidationFailed
from shared.models.base import new_id, utcnow
from shared.models.idempotency import RequestIdempotency
from shared.redaction import redact_json, redact_text
from shared.web.auth import current_principal
from shared.web.db import db_session
from shared.web.problems import ProblemSchema

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_LIFETIME = timedelta(hours=24)
# A concurrent retry waits this long for the first request's answer before a 409.
ANSWER_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.05
_KEY_SHAPE = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as Stripe and the IETF draft
_CLAIM_ATTEMPTS = 3  # an expired key, or a first request that rolled back, is claimed anew

KEY_PARAMETER = {
    "in": "header",
    "name": KEY_HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": (
        "Makes this create safe to retry: the same key from the same token with the same "
        "body answers the first result again (with `Idempotent-Replayed: true`) and writes "
        "nothing; the same key with another body is a 409. Keys expire after "
        f"{int(KEY_LIFETIME.total_seconds() // 3600)} hours."
    ),
}


class IdempotencyKeyReused(Conflict):
    """The key was first sent with another request: a retry must send the same one."""

    slug, title = "idempotency-key-reused", "Idempotency-Key reused with another request"


class IdempotencyKeyInFlight(Conflict):
    """The first request with this key has not answered yet."""

    slug, title = "idempotency-key-in-flight", "Idempotency-Key still being answered"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


def idempotent(blp: Blueprint) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a creating view so that an `Idempotency-Key` makes it happen once."""
    documented = blp.doc(parameters=[KEY_PARAMETER])
    conflict = blp.alt_response(
        409,
        schema=ProblemSchema,
        description="Conflict (also: the Idempotency-Key was sent with another request, or "
        "its first request is still being answered)",
    )

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def once(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(KEY_HEADER)
            if key is None:
                return view(*args, **kwargs)
            return answer_once(key, functools.partial(view, *args, **kwargs))

        wrapped: Callable[..., Any] = conflict(documented(once))
        return wrapped

    return decorator


def answer_once(key: str, run: Callable[[], Any]) -> Response:
    """The first answer to this caller's key, or the view's answer kept for its retries."""
    if not _KEY_SHAPE.fullmatch(key):  # not match: `$` also matches before a final "\n"
        message = "must be 1 to 255 visible ASCII characters"
        raise ValidationFailed({KEY_HEADER: [message]}, f"{KEY_HEADER} {message}")
    session, owner, digest = db_session(), current_principal().token_id, _request_digest()
    for _ in range(_CLAIM_ATTEMPTS):
        if _claim(session, owner, key, digest):
            response = make_response(run())
            _keep_answer(session, owner, key, response)
            return response
        earlier = _first_answer(session, owner, key, digest)
        if earlier is not None:
            return _replay(earlier)
    raise _in_flight(key)


def _request_digest() -> str:
    """SHA-256 of what makes two requests the same: method, path, query and the body's JSON
    (keys sorted, secrets redacted first, so the hash cannot be guessed back to a secret)."""
    body = request.get_json(silent=True)
    if body is None:
        content = redact_text(request.get_data(as_text=True))
    else:
        content = json.dumps(redact_json(body), sort_keys=True, separators=(",", ":"))
    query = "&".join(f"{k}={v}" for k, v in sorted(request.args.items(multi=True)))
    text = "\x1f".join([request.method, request.path, redact_text(query), content])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _claim(session: Session, owner: str, key: str, digest: str) -> bool:
    """Insert the key in the request's transaction; False when another request holds it
    (after waiting for that request's transaction to end)."""
    now = utcnow()
    values = {
        "id": new_id(),
        "owner": owner,
        "idempotency_key": key,
        "request_sha256": digest,
        "method": request.method,
        "path": request.path[:255],
        "created_at": now,
        "expires_at": now + KEY_LIFETIME,
    }
    try:
        with session.begin_nested():
            session.execute(insert(RequestIdempotency).values(values))
    except IntegrityError:
        session.rollback()  # a fresh snapshot for the reads that follow
        return False
    return True


_ANSWER_COLUMNS: Any = select(  # typed loosely: rows are read by column name
    RequestIdempotency.id,
    RequestIdempotency.request_sha256,
    RequestIdempotency.method,
    RequestIdempotency.path,
    RequestIdempotency.status_code,
    RequestIdempotency.content_type,
    RequestIdempotency.location,
    RequestIdempotency.response_body,
    RequestIdempotency.expires_at,
)


def _by_key(owner: str, key: str) -> Any:
    return (RequestIdempotency.owner == owner) & (RequestIdempotency.idempotency_key == key)


def _first_answer(session: Session, owner: str, key: str, digest: str) -> Row[Any] | None:
    """The first request's kept answer, waiting while it has none; None when the key is free
    again (its first request rolled back, or it expired and was cleared)."""
    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    while True:
        row = session.execute(_ANSWER_COLUMNS.where(_by_key(owner, key))).first()
        session.rollback()  # each poll reads afresh (REPEATABLE READ keeps one snapshot)
        if row is None:
            return None
        if row.expires_at <= utcnow():
            _clear_expired(session, row.id)
            return None
        if row.request_sha256 != digest:
            raise IdempotencyKeyReused(
                f"{KEY_HEADER} {key!r} was first sent with another request "
                f"({row.method} {row.path} or another body); send a new key for a new request",
                idempotency_key=key,
            )
        if row.status_code is not None:
            return row
        if time.monotonic() >= deadline:
            raise _in_flight(key)
        time.sleep(_POLL_SECONDS)


def _clear_expired(session: Session, row_id: str) -> None:
    """An expired key is free again: its row goes, in its own short transaction."""
    session.execute(
        delete(RequestIdempotency).where(
            RequestIdempotency.id == row_id, RequestIdempotency.expires_at <= utcnow()
        )
    )
    session.commit()


def _keep_answer(session: Session, owner: str, key: str, response: Response) -> None:
    """Keep a 2xx answer for the retries; any other answer frees the key (nothing was
    written, so a retry runs again)."""
    if 200 <= response.status_code < 300:
        statement: Any = (
            update(RequestIdempotency)
            .where(_by_key(owner, key))
            .values(
                status_code=response.status_code,
                content_type=(response.content_type or "")[:100] or None,
                location=(response.headers.get("Location") or "")[:1000] or None,
                response_body=response.get_data(as_text=True),
            )
        )
    else:
        statement = delete(RequestIdempotency).where(_by_key(owner, key))
    session.execute(statement)
    session.commit()


def _replay(row: Row[Any]) -> Response:
    response = Response(row.response_body, status=row.status_code, content_type=row.content_type)
    if row.location:
        response.headers["Location"] = row.location
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _in_flight(key: str) -> IdempotencyKeyInFlight:
    return IdempotencyKeyInFlight(
        f"the first request with {KEY_HEADER} {key!r} has not answered yet (or its answer was "
        "lost after it was written); it is not run twice: retry in a moment, or send a new "
        "key to write again",
        idempotency_key=key,
    )


def purge_expired_keys(session: Session, *, batch: int = 1000) -> int:
    """Delete the keys past their lifetime, a batch per transaction; how many went."""
    purged = 0
    while True:
        expired = select(RequestIdempotency.id).where(RequestIdempotency.expires_at <= utcnow())
        ids = list(session.scalars(expired.limit(batch)))
        if ids:
            session.execute(delete(RequestIdempotency).where(RequestIdempotency.id.in_(ids)))
        session.commit()
        purged += len(ids)
        if len(ids) < batch:
            return purged

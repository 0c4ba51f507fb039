"""How a delivery is signed: HMAC-SHA256 of the exact body bytes with the subscription secret.

Headers of every delivery (documented in the README, section Zapier):
- `X-Signature: sha256=<hex HMAC-SHA256(secret, body)>`
- `X-Signature-Timestamp: <unix seconds when this attempt was sent>`
- `X-Signature-Timestamped: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`: the same
  MAC over the timestamp too, for a receiver that also refuses old (replayed) requests
- `X-Hook-Id` (the event id, also `id` in the body: the same on every retry), `X-Hook-Event`,
  `X-Hook-Attempt`
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
TIMESTAMPED_HEADER = "X-Signature-Timestamped"


def signature(secret: str, content: bytes) -> str:
    """`sha256=<hex>` of the content under the secret (its UTF-8 bytes are the key)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), content, hashlib.sha256).hexdigest()


def signed_headers(
    *, secret: str, body: bytes, timestamp: int, event_id: str, event: str, attempt: int
) -> dict[str, str]:
    """Every header of one delivery attempt."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, body),
        TIMESTAMP_HEADER: str(timestamp),
        TIMESTAMPED_HEADER: signature(secret, f"{timestamp}.".encode() + body),
        "X-Hook-Id": event_id,
        "X-Hook-Event": event,
        "X-Hook-Attempt": str(attempt),
    }


def verify(secret: str, body: bytes, header_value: str) -> bool:
    """A receiver's check of `X-Signature`, in constant time (what the README shows)."""
    return hmac.compare_digest(signature(secret, body), header_value)

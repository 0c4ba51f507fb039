"""Zapier delivery arithmetic: the backoff schedule and the signature a receiver recomputes."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from services.integrations.adapters.endpoints import EndpointPolicy
from services.integrations.zapier.delivery import DeliveryRules
from services.integrations.zapier.signing import signed_headers, verify

RULES = DeliveryRules(
    policy=EndpointPolicy(), retry_seconds=30.0, retry_max_seconds=21600.0, max_attempts=8
)


def test_the_wait_doubles_after_each_failure_up_to_its_cap():
    waits = [RULES.backoff(attempts) for attempts in range(1, 12)]
    assert waits[:5] == [30.0, 60.0, 120.0, 240.0, 480.0]
    assert max(waits) == 21600.0 and waits == sorted(waits)


def test_a_longer_retry_after_is_honoured_but_never_beyond_the_cap():
    assert RULES.backoff(1, retry_after=600.0) == 600.0
    assert RULES.backoff(1, retry_after=5.0) == 30.0
    assert RULES.backoff(1, retry_after=10**9) == 21600.0


@given(
    secret=st.text(min_size=1, max_size=80), body=st.binary(max_size=2000), ts=st.integers(0, 2**33)
)
def test_a_receiver_with_the_secret_verifies_every_body_and_no_other_secret_does(secret, body, ts):
    headers = signed_headers(
        secret=secret, body=body, timestamp=ts, event_id="e", event="backup_failed", attempt=1
    )
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == f"sha256={expected}"
    assert verify(secret, body, headers["X-Signature"])
    assert not verify(secret + "x", body, headers["X-Signature"])
    stamped = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Signature-Timestamped"] == f"sha256={stamped}"
    assert headers["X-Signature-Timestamp"] == str(ts)

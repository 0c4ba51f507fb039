"""Errors a PSA adapter raises; the service layer maps them to problem+json answers."""

from __future__ import annotations


class PsaError(Exception):
    """Base of every adapter failure; `detail` is safe to show (never holds a secret)."""

    def __init__(self, integration_type: str, detail: str) -> None:
        super().__init__(f"{integration_type}: {detail}")
        self.integration_type = integration_type
        self.detail = detail


class PsaAuthFailed(PsaError):
    """The PSA refused our credentials (401/403)."""


class PsaTicketNotFound(PsaError):
    """The ticket does not exist in the PSA (404, or Autotask's 200 with `item: null`)."""

    def __init__(self, integration_type: str, ticket_ref: str) -> None:
        super().__init__(integration_type, f"ticket {ticket_ref} not found")
        self.ticket_ref = ticket_ref


class PsaRejected(PsaError):
    """The PSA answered the request with a definite refusal (400/409/422) and its messages."""

    def __init__(
        self, integration_type: str, status: int, messages: list[str], field: str | None = None
    ) -> None:
        super().__init__(integration_type, "; ".join(messages) or f"rejected with HTTP {status}")
        self.status = status
        self.messages = messages
        self.field = field  # set when our own check refused a field before calling the PSA


class PsaRateLimited(PsaError):
    """The PSA (or our own budget for it) says: not now; try again after `retry_after` seconds."""

    def __init__(self, integration_type: str, retry_after: float, detail: str = "") -> None:
        super().__init__(
            integration_type, detail or f"rate limited; retry after {retry_after:.0f}s"
        )
        self.retry_after = retry_after


class PsaUnavailable(PsaError):
    """The PSA did not answer usefully (timeouts, connection errors, 5xx) after safe retries."""


class PsaOutcomeUnknown(PsaError):
    """A non-idempotent call may have taken effect or not; a blind retry could duplicate it."""


class PsaConfigurationError(PsaError):
    """The credential cannot be used as configured (missing fields, failed zone/codebase lookup)."""


class PsaEndpointRefused(PsaConfigurationError):
    """The credential's endpoint is not one its vendor's credentials may be sent to."""

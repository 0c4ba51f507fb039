"""Domain errors with their HTTP meaning; the web layer renders them as RFC 9457 problems."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://msp-backend.dev/problems/"


class DomainError(Exception):
    """Base of every error a service raises on purpose; its message is safe to show."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extensions = extensions

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug

    def headers(self) -> dict[str, str]:
        return {}


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"

    def __init__(self, resource: str, identifier: object) -> None:
        super().__init__(f"{resource} {identifier} does not exist", resource=resource)


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class ValidationFailed(DomainError):
    status, slug, title = 422, "validation-failed", "Validation failed"

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None) -> None:
        fields = ", ".join(sorted(errors))
        super().__init__(detail or f"invalid fields: {fields}", errors=errors)


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="msp"'}


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Forbidden"


class ServiceUnavailable(DomainError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"

    def __init__(self, detail: str, retry_after: int = 5, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class GatewayTimeout(ServiceUnavailable):
    status, slug, title = 504, "gateway-timeout", "Gateway timeout"

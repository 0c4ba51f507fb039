"""A typed, standard-library HTTP client for the calls an assistant makes to the services.

The token needs `insights:read` and `insights:check` for checks and briefings, `insights:write`
to report failures, and `integrations:write` for ticket links; never `credentials:reveal`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, NamedTuple

USER_AGENT = "msp-assistant/0.1"
# An answer bigger than this is not one the hooks asked for: refuse it rather than buffer it.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class ServiceUnreachable(Exception):
    """The service did not answer in time, refused the connection, or failed on its side."""


class ProblemAnswer(Exception):
    """The service refused the request (4xx); carries the problem's title and detail."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status, self.title, self.detail = status, title, detail


# NamedTuples, not dataclasses: importing dataclasses (and inspect) was a fifth of a hook's start.
class CheckAnswer(NamedTuple):
    """A pre-command check's verdict, why, and what to run instead."""

    id: str
    verdict: str
    reasons: list[str]
    alternatives: list[str]


class Host(NamedTuple):
    """An inventory entry, as far as the hooks need it."""

    id: str
    client_id: str
    hostname: str
    ip_address: str | None


class ServiceClient(NamedTuple):
    """JSON calls to one service with one bearer token."""

    base_url: str
    token: str

    def request_json(
        self, method: str, path: str, body: Any = None, timeout: float = 2.0
    ) -> dict[str, Any]:
        """One call whose answer is a JSON object; 4xx raise ProblemAnswer, the rest Unreachable."""
        text = self.request_text(method, path, body, timeout)
        try:
            answer = json.loads(text)
        except ValueError:
            raise ServiceUnreachable(f"{method} {path}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise ServiceUnreachable(f"{method} {path}: the answer is not a JSON object")
        return answer

    def request_text(self, method: str, path: str, body: Any = None, timeout: float = 2.0) -> str:
        """One call, its answer as text."""
        return _call(self, method, path, body, timeout)


class InsightsClient(ServiceClient):
    """Calls to the insights service with one bearer token."""

    def check(self, *, client_id: str, host_id: str, command: str, timeout: float) -> CheckAnswer:
        """POST /v1/check: the verdict on a command about to run on a host."""
        body = {"client_id": client_id, "infrastructure_id": host_id, "command": command}
        answer = self.request_json("POST", "/v1/check", body, timeout)
        return CheckAnswer(
            id=str(answer["id"]),
            verdict=str(answer["verdict"]),
            reasons=[str(reason.get("message", "")) for reason in answer.get("reasons", [])],
            alternatives=[str(alternative) for alternative in answer.get("alternatives", [])],
        )

    def report_outcome(self, *, check_id: str, outcome: str, timeout: float) -> None:
        """POST /v1/checks/{id}/outcome: what the checked command then did."""
        path = f"/v1/checks/{urllib.parse.quote(check_id, safe='')}/outcome"
        self.request_json("POST", path, {"outcome": outcome}, timeout)

    def report_failure(self, *, failure: dict[str, Any], timeout: float) -> dict[str, Any]:
        """POST /v1/failures: a failed command, its exit code and the tail of its error output."""
        return self.request_json("POST", "/v1/failures", failure, timeout)

    def briefing_markdown(
        self, *, client_id: str, host_id: str, budget_tokens: int, timeout: float, task: str = ""
    ) -> str:
        """The host's briefing as markdown, never longer than the token budget."""
        query = {"format": "markdown", "budget_tokens": str(budget_tokens)}
        if task:
            query["task"] = task
        path = (
            f"/v1/clients/{urllib.parse.quote(client_id, safe='')}"
            f"/hosts/{urllib.parse.quote(host_id, safe='')}/briefing"
        )
        return self.request_text("GET", f"{path}?{urllib.parse.urlencode(query)}", None, timeout)

    def hosts(self, *, client_id: str, timeout: float, hostname: str = "") -> list[Host]:
        """The client's hosts (whose name contains `hostname`, when given), one page of 200."""
        query = {"client_id": client_id, "limit": "200"}
        if hostname:
            query["hostname"] = hostname
        page = self.request_json("GET", f"/v1/hosts?{urllib.parse.urlencode(query)}", None, timeout)
        return [
            Host(str(h["id"]), str(h["client_id"]), str(h["hostname"]), h.get("ip_address"))
            for h in page.get("items", [])
        ]


def _call(client: ServiceClient, method: str, path: str, body: Any, timeout: float) -> str:
    request = urllib.request.Request(  # noqa: S310 - the URL is checked to be http(s)
        client.base_url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": f"Bearer {client.token}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return str(answer.read(MAX_ANSWER_BYTES).decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        raise _refusal(method, path, error) from None
    except (OSError, ValueError) as error:
        # URLError, refused connections and socket timeouts are all OSErrors.
        raise ServiceUnreachable(f"{method} {path}: {error}") from None


def _refusal(method: str, path: str, error: urllib.error.HTTPError) -> Exception:
    """A 4xx as the problem it names; a 5xx means the service, not the request, is at fault."""
    if error.code >= 500:
        return ServiceUnreachable(f"{method} {path}: the service answered {error.code}")
    try:
        problem = json.loads(error.read(65_536) or b"{}")
    except (OSError, ValueError):
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    return ProblemAnswer(
        error.code, str(problem.get("title", error.reason)), str(problem.get("detail", ""))
    )

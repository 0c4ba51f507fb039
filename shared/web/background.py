"""Work a request starts but does not wait for, run under that request's id."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, after_this_request

from shared.observability import carrying_request_id


def after_response(work: Callable[[], None]) -> None:
    """Run `work` once this request's answer has been sent (callers that must not wait for it).

    By then the request's context is gone, its request id reset: `work` gets the id carried
    along, so its log lines, audit rows and calls to peers name the request that caused them.
    `work` must take what it needs from the app, not from `request` or `g`.
    """
    carried = carrying_request_id(work)

    @after_this_request
    def _schedule(response: Response) -> Response:
        response.call_on_close(carried)
        return response

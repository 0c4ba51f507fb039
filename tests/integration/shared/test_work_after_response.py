"""Work scheduled with after_response runs once the answer is out, under the request's id."""

from __future__ import annotations

from flask import Flask
from flask.views import MethodView
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from shared.client import ServiceClient
from shared.web import Blueprint, create_service_app
from shared.web.background import after_response

# Ids a caller may hand in (the web layer keeps those of this shape) and ones it replaces.
OFFERED_IDS = st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True)


def _app_that_tells_a_peer_later(database_url: str, peer_url: str) -> Flask:
    blp = Blueprint("later", __name__, url_prefix="/later")

    @blp.route("")
    class Later(MethodView):
        @blp.response(202)
        def post(self) -> dict[str, str]:
            """Answer at once; tell the peer after the answer is sent"""
            peer = ServiceClient(peer_url, "service-token", name="peer", retries=0)
            after_response(lambda: peer.post("/v1/notices", json={"event": "done"}))
            return {"status": "accepted"}

    return create_service_app(
        name="later",
        title="Later",
        settings={"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"},
        blueprints=[blp],
    )


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request_id=OFFERED_IDS)
def test_a_peer_called_after_the_answer_gets_the_id_of_the_request_that_scheduled_it(
    database_url: str, httpserver: HTTPServer, request_id: str
) -> None:
    httpserver.clear()
    httpserver.expect_request("/v1/notices", method="POST").respond_with_json({}, status=201)
    app = _app_that_tells_a_peer_later(database_url, httpserver.url_for("/"))

    answer = app.test_client().post("/later", headers={"X-Request-ID": request_id}, buffered=True)

    assert answer.status_code == 202, answer.get_json()
    assert answer.headers["X-Request-ID"] == request_id
    assert [r.headers.get("X-Request-ID") for r, _ in httpserver.log] == [request_id]

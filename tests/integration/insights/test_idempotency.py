"""Idempotency-Key: a retried create gets the first answer back and writes nothing again."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, bindparam, text
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from shared.web import idempotency
from shared.web.idempotency import KEY_HEADER, REPLAYED_HEADER, purge_expired_keys
from tests.integration.insights.factories import WRITE, make_client, make_host, unique

Auth = Callable[..., dict[str, str]]
OTHER_TOKEN = (*WRITE, "insights:check")  # another token of the same caller kind
DENIED = "Failed to restart nginx.service: Access denied"


class _Quiet(WSGIRequestHandler):
    def log(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(app: Flask) -> Iterator[str]:
    """The insights app behind a real threaded HTTP server."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def hdr(auth: Auth) -> dict[str, str]:
    return auth(*WRITE)


@pytest.fixture
def failure(client: FlaskClient, hdr: dict[str, str]) -> dict[str, Any]:
    owner = make_client(client, hdr)
    host = make_host(client, hdr, owner["id"], os="Debian")
    return {
        "client_id": owner["id"],
        "infrastructure_id": host["id"],
        "command": f"systemctl restart {unique('svc')}",
        "error_output": DENIED,
        "exit_code": 1,
    }


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, KEY_HEADER: key}


def occurrences(engine: Engine, pattern_id: str) -> tuple[int, int]:
    """(occurrence_count of the pattern, occurrence rows behind it)."""
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT occurrence_count FROM failure_patterns WHERE id = :id"), {"id": pattern_id}
        ).scalar_one()
        rows = connection.execute(
            text("SELECT COUNT(*) FROM failure_occurrences WHERE failure_pattern_id = :id"),
            {"id": pattern_id},
        ).scalar_one()
    return count, rows


def test_a_retried_failure_after_the_first_committed_replays_it_and_counts_once(
    base_url: str, hdr: dict[str, str], failure: dict[str, Any], engine: Engine
) -> None:
    key = str(uuid.uuid4())
    first = requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(hdr, key))
    assert first.status_code == 201, first.text
    assert REPLAYED_HEADER not in first.headers
    # The client saw a 503 or lost the connection: it cannot know the write committed.
    for _ in range(3):
        retry = requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(hdr, key))
        assert (retry.status_code, retry.json()) == (201, first.json())
        assert retry.headers[REPLAYED_HEADER] == "true"
    assert occurrences(engine, first.json()["pattern"]["id"]) == (1, 1)
    # Without the key the same failure is a new occurrence, as before.
    again = requests.post(f"{base_url}/v1/failures", json=failure, headers=hdr)
    assert again.status_code == 201
    assert occurrences(engine, first.json()["pattern"]["id"]) == (2, 2)


def test_the_same_key_with_another_body_is_a_conflict_naming_the_key(
    base_url: str, hdr: dict[str, str], failure: dict[str, Any], engine: Engine
) -> None:
    key = f"retry-{uuid.uuid4()}"
    first = requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(hdr, key))
    assert first.status_code == 201
    other = {**failure, "exit_code": 2}
    refused = requests.post(f"{base_url}/v1/failures", json=other, headers=keyed(hdr, key))
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert key in refused.json()["detail"]
    assert refused.json()["idempotency_key"] == key
    # Another endpoint with the same key is another request too.
    client_body = {"name": unique("client")}
    elsewhere = requests.post(f"{base_url}/v1/clients", json=client_body, headers=keyed(hdr, key))
    assert elsewhere.status_code == 409
    assert occurrences(engine, first.json()["pattern"]["id"]) == (1, 1)


def test_the_same_body_with_its_keys_in_another_order_is_the_same_request(
    base_url: str, hdr: dict[str, str], failure: dict[str, Any]
) -> None:
    key = str(uuid.uuid4())
    first = requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(hdr, key))
    reordered = dict(reversed(list(failure.items())))
    retry = requests.post(f"{base_url}/v1/failures", json=reordered, headers=keyed(hdr, key))
    assert retry.status_code == 201
    assert retry.json() == first.json()


def test_two_tokens_with_the_same_key_are_two_keys(
    base_url: str, auth: Auth, failure: dict[str, Any], engine: Engine
) -> None:
    key = str(uuid.uuid4())
    mine, theirs = auth(*WRITE), auth(*OTHER_TOKEN)
    assert mine != theirs
    first = requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(mine, key))
    second = requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(theirs, key))
    assert (first.status_code, second.status_code) == (201, 201)
    assert REPLAYED_HEADER not in second.headers
    assert second.json()["occurrence_id"] != first.json()["occurrence_id"]
    assert occurrences(engine, first.json()["pattern"]["id"]) == (2, 2)


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_posts_of_one_key_write_once_and_all_get_the_first_answer(
    base_url: str, hdr: dict[str, str], failure: dict[str, Any], engine: Engine, attempt: int
) -> None:
    key, senders = str(uuid.uuid4()), 8
    start = threading.Barrier(senders)

    def send(_: int) -> requests.Response:
        start.wait()
        return requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(hdr, key))

    with ThreadPoolExecutor(senders) as pool:
        answers = list(pool.map(send, range(senders)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert sum(REPLAYED_HEADER not in a.headers for a in answers) == 1
    assert occurrences(engine, answers[0].json()["pattern"]["id"]) == (1, 1)


def test_a_refused_request_does_not_keep_its_key(
    base_url: str, hdr: dict[str, str], failure: dict[str, Any], engine: Engine
) -> None:
    key = str(uuid.uuid4())
    wrong_host = {**failure, "infrastructure_id": str(uuid.uuid4())}
    refused = requests.post(f"{base_url}/v1/failures", json=wrong_host, headers=keyed(hdr, key))
    assert refused.status_code == 404
    fixed = requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(hdr, key))
    assert fixed.status_code == 201
    assert REPLAYED_HEADER not in fixed.headers
    assert occurrences(engine, fixed.json()["pattern"]["id"]) == (1, 1)


def test_an_expired_key_is_a_new_request(
    base_url: str, hdr: dict[str, str], failure: dict[str, Any], engine: Engine
) -> None:
    key = str(uuid.uuid4())
    first = requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(hdr, key))
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE request_idempotency SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND "
                "WHERE idempotency_key = :key"
            ),
            {"key": key},
        )
    later = requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(hdr, key))
    assert later.status_code == 201
    assert REPLAYED_HEADER not in later.headers
    assert occurrences(engine, first.json()["pattern"]["id"]) == (2, 2)
    again = requests.post(f"{base_url}/v1/failures", json=failure, headers=keyed(hdr, key))
    assert again.headers[REPLAYED_HEADER] == "true"
    assert again.json() == later.json()


@pytest.mark.parametrize("key", ["", " ", "has space", "x" * 256, "naïve", "tab\tkey"])
def test_a_key_that_is_not_1_to_255_visible_ascii_characters_is_refused_by_name(
    client: FlaskClient, hdr: dict[str, str], failure: dict[str, Any], key: str
) -> None:
    response = client.post("/v1/failures", json=failure, headers=keyed(hdr, key))
    assert response.status_code == 422
    assert KEY_HEADER in response.get_json()["errors"]


def test_no_secret_of_a_keyed_failure_is_kept_with_its_key(
    client: FlaskClient, hdr: dict[str, str], failure: dict[str, Any], engine: Engine
) -> None:
    secret = f"Pw{uuid.uuid4().hex[:12]}!"
    body = {**failure, "command": rf"net use Z: \\nas01\share /user:CORP\svc {secret}"}
    key = str(uuid.uuid4())
    assert client.post("/v1/failures", json=body, headers=keyed(hdr, key)).status_code == 201
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM request_idempotency WHERE idempotency_key = :key"), {"key": key}
        ).one()
    assert row.status_code == 201
    assert all(secret not in str(value) for value in row)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/clients", lambda ids: {"name": unique("client")}),
        ("/v1/hosts", lambda ids: {"client_id": ids["client_id"], "hostname": unique("h")}),
        ("/v1/tags", lambda ids: {"name": unique("tag"), "category": "technology"}),
        ("/v1/sessions", lambda ids: {"client_id": ids["client_id"], "title": "patching"}),
        (
            "/v1/insights",
            lambda ids: {
                "client_id": ids["client_id"],
                "insight_category": "command_constraints",
                "title": unique("Never restart nginx by hand"),
                "description": "it is managed by the cluster",
            },
        ),
        (
            "/v1/check",
            lambda ids: {
                "client_id": ids["client_id"],
                "infrastructure_id": ids["infrastructure_id"],
                "command": "uptime",
            },
        ),
    ],
)
def test_every_creating_endpoint_replays_a_retried_key(
    client: FlaskClient,
    hdr: dict[str, str],
    failure: dict[str, Any],
    path: str,
    body: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    sent, key = body(failure), str(uuid.uuid4())
    first = client.post(path, json=sent, headers=keyed(hdr, key))
    retry = client.post(path, json=sent, headers=keyed(hdr, key))
    assert first.status_code in (200, 201), first.json
    assert (retry.status_code, retry.json) == (first.status_code, first.json)
    assert retry.headers[REPLAYED_HEADER] == "true"


def test_the_openapi_documents_the_key_on_every_post(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    posts = {path: ops["post"] for path, ops in spec["paths"].items() if "post" in ops}
    assert {"/v1/failures", "/v1/check", "/v1/insights", "/v1/work-items"} <= set(posts)
    for path, operation in posts.items():
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [p["name"] for p in headers] == [KEY_HEADER], path
        assert headers[0]["schema"]["maxLength"] == 255
        assert "409" in operation["responses"], path


def test_a_retried_outcome_report_gets_its_first_answer_not_a_conflict(
    client: FlaskClient, hdr: dict[str, str], failure: dict[str, Any]
) -> None:
    body = {k: failure[k] for k in ("client_id", "infrastructure_id", "command")}
    check = client.post("/v1/check", json=body, headers=hdr).get_json()
    path, key = f"/v1/checks/{check['id']}/outcome", str(uuid.uuid4())
    first = client.post(path, json={"outcome": "succeeded"}, headers=keyed(hdr, key))
    retry = client.post(path, json={"outcome": "succeeded"}, headers=keyed(hdr, key))
    assert first.status_code == 200, first.get_json()
    assert (retry.status_code, retry.get_json()) == (200, first.get_json())
    unkeyed = client.post(path, json={"outcome": "succeeded"}, headers=hdr)
    assert unkeyed.status_code == 409  # without a key, a second report is refused as before


def test_purging_deletes_only_the_expired_keys(
    client: FlaskClient, hdr: dict[str, str], failure: dict[str, Any], engine: Engine
) -> None:
    expired, live = str(uuid.uuid4()), str(uuid.uuid4())
    for key, command in ((expired, "uptime"), (live, "hostname")):
        body = {**failure, "command": command}
        assert client.post("/v1/failures", json=body, headers=keyed(hdr, key)).status_code == 201
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE request_idempotency SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 HOUR "
                "WHERE idempotency_key = :key"
            ),
            {"key": expired},
        )
    with Session(engine) as session:
        assert purge_expired_keys(session, batch=1) >= 1
    with engine.connect() as connection:
        left = connection.execute(
            text(
                "SELECT idempotency_key FROM request_idempotency WHERE idempotency_key IN :keys"
            ).bindparams(bindparam("keys", expanding=True)),
            {"keys": [expired, live]},
        ).scalars()
        assert list(left) == [live]


def test_a_write_whose_answer_was_lost_is_not_run_again(
    client: FlaskClient,
    hdr: dict[str, str],
    failure: dict[str, Any],
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first request committed, then died before keeping its answer: a retry must not
    write again; it is told the key is still being answered, and when to ask again."""
    monkeypatch.setattr(idempotency, "ANSWER_WAIT_SECONDS", 0.3)
    key = str(uuid.uuid4())
    first = client.post("/v1/failures", json=failure, headers=keyed(hdr, key))
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE request_idempotency SET status_code = NULL, response_body = NULL "
                "WHERE idempotency_key = :key"
            ),
            {"key": key},
        )
    retry = client.post("/v1/failures", json=failure, headers=keyed(hdr, key))
    assert retry.status_code == 409
    assert retry.headers["Retry-After"] == "1"
    assert key in retry.get_json()["detail"]
    assert occurrences(engine, first.get_json()["pattern"]["id"]) == (1, 1)


# Bytes a header value may carry on the wire that are not visible ASCII (CR and LF end it).
NOT_VISIBLE = st.sampled_from([*range(0x0A), 0x0B, 0x0C, *range(0x0E, 0x21), *range(0x7F, 0x100)])


def post_raw(base_url: str, headers: dict[str, str], key: bytes, body: dict[str, Any]) -> bytes:
    """POST /v1/clients with the key's bytes as sent, past any client library's checks."""
    host, port = base_url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    lines = [
        b"POST /v1/clients HTTP/1.1",
        b"Host: " + host.encode(),
        *(f"{name}: {value}".encode() for name, value in headers.items()),
        b"Content-Type: application/json",
        b"Content-Length: " + str(len(payload)).encode(),
        b"Idempotency-Key: " + key,
        b"Connection: close",
    ]
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + payload)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def clients_named(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT COUNT(*) FROM clients WHERE name = :name"), {"name": name}
            ).scalar_one()
        )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(NOT_VISIBLE, min_size=1, max_size=4).map(bytes),
    st.sampled_from([b"k", b"retry-" + b"7" * 120]),
)
def test_a_key_with_control_or_non_ascii_bytes_on_the_wire_is_refused_and_writes_nothing(
    base_url: str, hdr: dict[str, str], engine: Engine, bad: bytes, edge: bytes
) -> None:
    """Control characters, DEL, ESC sequences, Latin-1 and the UTF-8 bytes of a surrogate."""
    name = unique("client")
    answer = post_raw(base_url, hdr, edge + bad + edge, {"name": name})
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.split(b" ")[1] == b"422", answer[:300]
    assert b"application/problem+json" in status
    assert KEY_HEADER in json.loads(body)["errors"]
    assert bad not in body  # the bytes are named as wrong, not echoed back
    assert clients_named(engine, name) == 0


def test_the_utf8_bytes_of_a_lone_surrogate_as_a_key_are_refused(
    base_url: str, hdr: dict[str, str], engine: Engine
) -> None:
    name = unique("client")
    answer = post_raw(base_url, hdr, b"key-\xed\xa0\x80", {"name": name})
    assert answer.startswith(b"HTTP/1.1 422"), answer[:300]
    assert clients_named(engine, name) == 0


def test_a_megabyte_key_is_refused_by_name_without_a_write(
    client: FlaskClient, hdr: dict[str, str], engine: Engine
) -> None:
    name = unique("client")
    response = client.post("/v1/clients", json={"name": name}, headers=keyed(hdr, "k" * 2**20))
    assert response.status_code == 422
    assert KEY_HEADER in response.get_json()["errors"]
    assert len(response.get_data()) < 2_000  # the key is not echoed
    assert clients_named(engine, name) == 0


def test_a_key_replayed_by_a_token_without_the_scope_is_refused_not_answered(
    client: FlaskClient, auth: Auth, hdr: dict[str, str]
) -> None:
    key, body = str(uuid.uuid4()), {"name": unique("client")}
    assert client.post("/v1/clients", json=body, headers=keyed(hdr, key)).status_code == 201
    reader = client.post("/v1/clients", json=body, headers=keyed(auth("insights:read"), key))
    assert reader.status_code == 403
    assert REPLAYED_HEADER not in reader.headers


def test_one_key_on_two_checks_outcomes_is_a_conflict_and_leaves_the_second_unreported(
    client: FlaskClient, hdr: dict[str, str], failure: dict[str, Any]
) -> None:
    body = {k: failure[k] for k in ("client_id", "infrastructure_id", "command")}
    first, second = (client.post("/v1/check", json=body, headers=hdr).get_json() for _ in "ab")
    key, outcome = str(uuid.uuid4()), {"outcome": "failed"}
    answered = client.post(
        f"/v1/checks/{first['id']}/outcome", json=outcome, headers=keyed(hdr, key)
    )
    refused = client.post(
        f"/v1/checks/{second['id']}/outcome", json=outcome, headers=keyed(hdr, key)
    )
    assert answered.status_code == 200
    assert refused.status_code == 409
    assert refused.get_json()["idempotency_key"] == key
    fresh = keyed(hdr, str(uuid.uuid4()))
    reported = client.post(f"/v1/checks/{second['id']}/outcome", json=outcome, headers=fresh)
    assert reported.status_code == 200
    assert reported.get_json()["outcome"] == "failed"


@pytest.mark.parametrize("key", ["trailing-newline\n", "k\n"])
def test_a_key_ending_in_a_newline_that_a_server_let_through_is_refused(
    client: FlaskClient, hdr: dict[str, str], engine: Engine, key: str
) -> None:
    """HTTP servers end the header line there; the WSGI environ of another may not."""
    name = unique("client")
    response = client.post(
        "/v1/clients",
        json={"name": name},
        headers=hdr,
        environ_overrides={"HTTP_IDEMPOTENCY_KEY": key},
    )
    assert response.status_code == 422
    assert KEY_HEADER in response.get_json()["errors"]
    assert clients_named(engine, name) == 0

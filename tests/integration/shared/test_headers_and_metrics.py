"""Security headers on every answer (the Swagger UI page included), and metrics that stay bounded."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CONTENT_TYPE_LATEST

from services.backups.app import create_app as create_backups
from services.insights.app import create_app as create_insights
from services.integrations.app import create_app as create_integrations

Headers = Callable[..., dict[str, str]]
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
FACTORIES = {
    "insights": create_insights,
    "integrations": create_integrations,
    "backups": create_backups,
}


@pytest.fixture(scope="module")
def apps(database_url: str) -> dict[str, Flask]:
    settings = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return {name: factory(settings) for name, factory in FACTORIES.items()}


@pytest.fixture(params=list(FACTORIES))
def service(request: pytest.FixtureRequest, apps: dict[str, Flask]) -> FlaskClient:
    return apps[request.param].test_client()


def _policy(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
        ("GET", "/v1/nowhere"),
        ("GET", "/v1/does-not-matter/at/all"),
        ("DELETE", "/healthz"),
        ("GET", "/docs/assets/swagger-ui-bundle.js"),
        ("GET", "/metrics"),
    ],
)
def test_every_answer_carries_the_security_headers_and_a_closed_api_policy(
    service: FlaskClient, method: str, path: str
) -> None:
    response = service.open(path, method=method)
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (path, name)
    policy = _policy(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


def test_an_authenticated_json_answer_carries_them_too(
    apps: dict[str, Flask], bearer: Headers
) -> None:
    response = apps["insights"].test_client().get("/v1/clients", headers=bearer("insights:read"))
    assert response.status_code == 200
    assert all(response.headers[name] == value for name, value in ALWAYS.items())
    assert _policy(response.headers["Content-Security-Policy"])["default-src"] == ["'none'"]


def test_the_docs_page_loads_everything_its_policy_allows_and_nothing_else(
    service: FlaskClient,
) -> None:
    page = service.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert all(page.headers[name] == value for name, value in ALWAYS.items())
    policy = _policy(page.headers["Content-Security-Policy"])
    html = page.get_data(as_text=True)
    # Every file the page references is same-origin ('self') and really served.
    referenced = re.findall(r'<(?:script|link)[^>]*?(?:src|href)="([^"]+)"', html)
    assert len(referenced) >= 3
    for url in referenced:
        assert url.startswith("/docs/assets/"), url
        assert service.get(url).status_code == 200, url
    assert "'self'" in policy["script-src"] and "'self'" in policy["style-src"]
    # Each inline script runs only because its hash is listed; nothing runs by 'unsafe-*'.
    inline = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assert not any(source.startswith("'unsafe") for source in policy["script-src"])
    # The spec it fetches is same-origin; no source anywhere names another host.
    assert policy["connect-src"] == ["'self'"]
    assert service.get(re.search(r'url: "([^"]+)"', html).group(1)).status_code == 200  # type: ignore[union-attr]
    sources = [source for values in policy.values() for source in values]
    assert not [source for source in sources if "://" in source or source == "*"]
    assert '"validatorUrl": null' in html, "no validator badge is fetched from swagger.io"


# --- metrics ---


def _metrics_text(client: FlaskClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.get_data(as_text=True)


INVENTED_METHODS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=12).filter(
    lambda method: method not in {"GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS"}
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(method=INVENTED_METHODS, path=st.sampled_from(["/healthz", "/v1/clients", "/v1/x/y"]))
def test_an_invented_method_is_counted_as_other_never_as_a_new_series(
    service: FlaskClient, method: str, path: str
) -> None:
    response = service.open(path, method=method)
    assert response.status_code in (404, 405)
    text = _metrics_text(service)
    assert f'method="{method}"' not in text
    assert 'method="other"' in text


def test_a_method_the_route_does_not_serve_is_other(service: FlaskClient) -> None:
    service.delete("/healthz")
    text = _metrics_text(service)
    assert 'method="DELETE",route="/healthz"' not in text
    assert re.search(r'http_requests_total\{[^}]*method="other"[^}]*status="405"', text)
    assert re.search(r'http_requests_total\{[^}]*method="GET",route="/healthz"', text)


def test_the_metrics_content_type_is_the_exposition_formats_once(service: FlaskClient) -> None:
    response = service.get("/metrics")
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert response.headers["Content-Type"].count("charset") == 1


def test_metrics_answer_loopback_only_when_no_token_is_set(service: FlaskClient) -> None:
    remote = service.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert remote.status_code == 403 and remote.mimetype == "application/problem+json"
    assert "METRICS_TOKEN" in remote.json["detail"]
    assert service.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


@pytest.mark.parametrize("name", list(FACTORIES))
def test_with_metrics_token_set_only_its_bearer_scrapes(database_url: str, name: str) -> None:
    app = FACTORIES[name](
        {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "METRICS_TOKEN": "scrape-me-7f3a"}
    )
    client = app.test_client()
    remote = {"REMOTE_ADDR": "10.20.30.40"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-me-7f3a"}):
        refused = client.get("/metrics", headers=headers, environ_base=remote)
        assert refused.status_code == 401 and "WWW-Authenticate" in refused.headers
        assert "scrape-me" not in refused.get_data(as_text=True)
    allowed = client.get(
        "/metrics", headers={"Authorization": "Bearer scrape-me-7f3a"}, environ_base=remote
    )
    assert allowed.status_code == 200 and "http_requests_total" in allowed.get_data(as_text=True)
    # Loopback is no exception once a token is set.
    assert client.get("/metrics").status_code == 401

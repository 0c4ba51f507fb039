"""Services reach their peers only through shared.client.ServiceClient, with their own token.

Read from the source (AST), so a new call site that bypasses the client fails here at once; the
running behaviour (request ids passed on, 503/504 on a bad peer) is in the other e2e tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.e2e.stack import REPO, SERVICES

PEER_URLS = {"INSIGHTS_URL", "INTEGRATIONS_URL", "BACKUPS_URL"}
HTTP_LIBRARIES = {"requests", "httpx", "urllib.request", "http.client", "urllib3", "aiohttp"}


def modules(service: str) -> list[Path]:
    return sorted((REPO / "services" / service).rglob("*.py"))


def peer_url_uses(tree: ast.AST) -> list[ast.Subscript]:
    """Every settings["<PEER>_URL"] subscript in a module."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Constant)
        and node.slice.value in PEER_URLS
    ]


def service_client_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "ServiceClient"
    ]


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_a_peer_url_is_only_ever_handed_to_the_shared_client(service: str) -> None:
    for path in modules(service):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        uses = peer_url_uses(tree)
        if not uses:
            continue
        first_arguments = [call.args[0] for call in service_client_calls(tree) if call.args]
        for use in uses:
            assert use in first_arguments, f"{path.relative_to(REPO)}:{use.lineno} uses a peer URL"


@pytest.mark.parametrize("service", SERVICES)
def test_the_shared_client_is_built_with_the_services_own_token(service: str) -> None:
    for path in modules(service):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in service_client_calls(tree):
            token = ast.unparse(call.args[1]) if len(call.args) > 1 else ""
            assert "SERVICE_TOKEN" in token, f"{path.relative_to(REPO)}:{call.lineno}: {token}"


@pytest.mark.parametrize("service", SERVICES)
def test_modules_with_their_own_http_library_never_name_a_peer(service: str) -> None:
    # PSA adapters, OAuth and webhook key fetches talk to the outside world, never to a peer.
    for path in modules(service):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        if imported_modules(tree) & HTTP_LIBRARIES:
            assert not any(peer in source for peer in PEER_URLS), path.relative_to(REPO)
            assert "/v1/sessions" not in source and "/v1/tickets" not in source


def test_every_service_that_calls_a_peer_gets_a_token_scoped_for_that_call() -> None:
    from tests.e2e.stack import SERVICE_SCOPES

    callers = {
        service
        for service in SERVICES
        for path in modules(service)
        if service_client_calls(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert callers, "no service calls a peer: the scan found nothing to check"
    assert callers <= set(SERVICE_SCOPES), "a caller has no service token in the deployment"
    assert all("admin" not in SERVICE_SCOPES[service] for service in callers)

"""README's credential vault section names the fields the API document names (issue #11 item 9)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from services.integrations.app import create_app
from shared.models.integrations import CREDENTIAL_TYPES

README = Path(__file__).resolve().parents[3] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"### {title}")
    end = text.find("\n### ", start + 1)
    return text[start : end if end > 0 else None]


@pytest.fixture(scope="module")
def create_schema() -> dict[str, Any]:
    app = create_app({"DATABASE_URL": "sqlite:///:memory:", "LOG_LEVEL": "WARNING"})
    spec = app.test_client().get("/openapi.json").json
    body = spec["paths"]["/v1/credentials"]["post"]["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
    return dict(spec["components"]["schemas"][ref])


def test_the_type_field_the_readme_names_is_the_one_the_api_takes(
    create_schema: dict[str, Any],
) -> None:
    vault = _section("Credential vault")
    named = set(re.findall(r"`([a-z_]+)` \(the field's name", vault))
    assert named == {"credential_type"}
    assert "credential_type" in create_schema["required"]
    assert set(create_schema["properties"]["credential_type"]["enum"]) == set(CREDENTIAL_TYPES)


def test_the_readme_never_calls_the_type_field_kind(create_schema: dict[str, Any]) -> None:
    vault = _section("Credential vault")
    assert "kind" not in create_schema["properties"]
    assert not re.search(r"`kind`|\bkinds?\b", vault, flags=re.IGNORECASE)


def test_every_field_the_readme_lists_for_a_type_is_an_api_field(
    create_schema: dict[str, Any],
) -> None:
    vault = _section("Credential vault")
    listing = vault[vault.index("the fields that type allows") :].split("\n\n", 1)[0]
    for credential_type in CREDENTIAL_TYPES:
        assert f"`{credential_type}` —" in listing
    fields = set(re.findall(r"`([a-z_]+)`", listing)) - {"credential_type"}
    assert len(fields) > len(CREDENTIAL_TYPES), "the README lists no fields"
    assert fields <= set(create_schema["properties"]) | set(CREDENTIAL_TYPES)

"""Which insights apply to a host: host-level, client-level, host selectors and global ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import BindParameter, Select, and_, bindparam, or_, select

from services.insights.hosts.facts import HostFacts
from services.insights.knowledge.facts import InsightFacts
from shared.models import EnvironmentalInsight

F = TypeVar("F", bound=InsightFacts)

# Selector keys and how each compares with the host's inventory attribute.
SUBSTRING_KEYS = {"os": "os", "role": "role_description"}
EXACT_KEYS = {
    "os_version": "os_version",
    "shell_type": "shell_type",
    "powershell_version": "powershell_version",
    "package_manager": "package_manager",
    "asset_type": "asset_type",
    "hostname": "hostname",
}
SELECTOR_KEYS = {*SUBSTRING_KEYS, *EXACT_KEYS, "has_gui", "tag"}
# What selector_errors accepts, as the OpenAPI document states it (JSON Schema keywords).
_TEXT_OR_TEXTS = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "items": {"type": "string"}},
    ]
}
SELECTOR_DOCUMENT = {
    "properties": {
        **{key: _TEXT_OR_TEXTS for key in sorted(SELECTOR_KEYS - {"has_gui"})},
        "has_gui": {"type": "boolean"},
    },
    "additionalProperties": False,
    "minProperties": 1,
}
SPECIFICITY = {"host": 1.0, "selector": 0.85, "client": 0.7, "global": 0.5}


def selector_errors(selector: dict[str, Any] | None) -> list[str]:
    """Messages for a malformed host selector (empty list when it is fine)."""
    if selector is None:
        return []
    errors = [f"unknown key {key!r}" for key in selector if key not in SELECTOR_KEYS]
    for key, value in selector.items():
        if key == "has_gui" and not isinstance(value, bool):
            errors.append("has_gui must be true or false")
        elif key != "has_gui" and not _is_text_or_texts(value):
            errors.append(f"{key} must be a string or a list of strings")
    if not selector:
        errors.append("must name at least one attribute")
    return errors


def _is_text_or_texts(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def host_matches(selector: dict[str, Any] | None, host: HostFacts) -> bool:
    """True when every attribute of the selector matches the host (lists mean any-of)."""
    if not selector:
        return True
    return all(_attribute_matches(key, value, host) for key, value in selector.items())


def _attribute_matches(key: str, wanted: Any, host: HostFacts) -> bool:
    if key == "has_gui":
        return bool(host.has_gui) is bool(wanted)
    options = [w.lower() for w in ([wanted] if isinstance(wanted, str) else wanted)]
    if key == "tag":
        return any(option in host.tag_names for option in options)
    if key in SUBSTRING_KEYS:
        actual = (getattr(host, SUBSTRING_KEYS[key]) or "").lower()
        return any(option in actual for option in options)
    return (getattr(host, EXACT_KEYS[key]) or "").lower() in options


def scope_of(insight: InsightFacts) -> str:
    """host, selector, client or global: how specific the insight is."""
    if insight.infrastructure_id:
        return "host"
    if insight.host_selector:
        return "selector"
    return "client" if insight.client_id else "global"


def current_filter(as_of: datetime | BindParameter[Any]) -> Any:
    """Active and valid at `as_of`: a superseded one was current until its valid_to, so a
    briefing as of a moment before that still shows it."""
    return and_(
        EnvironmentalInsight.status.in_(("active", "superseded")),
        EnvironmentalInsight.valid_from <= as_of,
        or_(EnvironmentalInsight.valid_to.is_(None), EnvironmentalInsight.valid_to > as_of),
    )


def candidates_query() -> Select[Any]:
    """Insights that may apply to a host: its own, its client's and global ones.

    Parameters :client_id, :host_id and :as_of, so callers build it once and reuse it.
    Host selectors are checked afterwards in Python (host_matches). A host-level insight
    always carries its host's client, so the three branches are three exact ranges of the
    (client_id, infrastructure_id) index; a plain OR over two columns was a table scan.
    """
    scope = or_(
        and_(
            EnvironmentalInsight.client_id == bindparam("client_id"),
            or_(
                EnvironmentalInsight.infrastructure_id.is_(None),
                EnvironmentalInsight.infrastructure_id == bindparam("host_id"),
            ),
        ),
        and_(
            EnvironmentalInsight.client_id.is_(None),
            EnvironmentalInsight.infrastructure_id.is_(None),
        ),
    )
    return select(EnvironmentalInsight).where(scope, current_filter(bindparam("as_of")))


def applicable(insights: Sequence[F], host: HostFacts) -> list[F]:
    """The candidates whose selector (if any) matches the host."""
    return [i for i in insights if host_matches(i.host_selector, host)]

"""The import contracts of pyproject.toml hold today, and catch any import that points back up."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from importlinter.configuration import configure
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.independence import IndependenceContract
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import Contract

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_TYPES: dict[str, type[Contract]] = {
    "acyclic_siblings": AcyclicSiblingsContract,
    "forbidden": ForbiddenContract,
    "independence": IndependenceContract,
    "layers": LayersContract,
}
ACYCLIC = "no import cycles inside a service or shared"
INTEGRATIONS = "integrations: one way from tickets down to the vault"
# The imports that made today's five cycles (from the lower package back up), and the contract
# that pins the direction of each pair.
FORMER_CYCLES = [
    (
        "insights: knowledge is built on failures",
        "services.insights.failures.services",
        "services.insights.knowledge.promotion",
    ),
    (
        INTEGRATIONS,
        "services.integrations.credentials.resources",
        "services.integrations.psa.settings",
    ),
    (
        INTEGRATIONS,
        "services.integrations.oauth.services",
        "services.integrations.credentials.services",
    ),
    (
        INTEGRATIONS,
        "services.integrations.access_log.resources",
        "services.integrations.request_context",
    ),
    (
        "backups: schedules > catalog > jobs > verification, retention > dump",
        "services.backups.jobs.runner",
        "services.backups.schedules.services",
    ),
]


def _contracts() -> dict[str, Contract]:
    configure()
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    session = {k: v for k, v in options.items() if k != "contracts"}
    return {
        c["name"]: CONTRACT_TYPES[c["type"]](
            name=c["name"],
            session_options=session,
            contract_options={k: v for k, v in c.items() if k not in ("name", "type")},
        )
        for c in options["contracts"]
    }


CONTRACTS = _contracts()
GRAPH = grimp.build_graph("shared", "services", include_external_packages=True, cache_dir=None)


def _kept(name: str, graph: Any) -> bool:
    # A contract may change the graph it checks (ignored imports are removed): give it a copy.
    return CONTRACTS[name].check(copy.deepcopy(graph), verbose=False).kept


def _with_import(importer: str, imported: str) -> Any:
    graph = copy.deepcopy(GRAPH)
    graph.add_import(importer=importer, imported=imported)
    return graph


def _sibling(module: str) -> str:
    return ".".join(module.split(".")[:3])  # services.<service>.<package or module>


def _imports_reversed() -> list[tuple[str, str]]:
    """Every import between two sibling packages of a service, turned around: adding any of
    them closes a cycle."""
    return sorted(
        (imported, importer)
        for service in GRAPH.find_children("services")
        for importer in GRAPH.find_descendants(service)
        for imported in GRAPH.find_modules_directly_imported_by(importer)
        if imported.startswith(service + ".") and _sibling(imported) != _sibling(importer)
    )


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_the_code_as_it_is_keeps_every_contract(name: str) -> None:
    assert _kept(name, GRAPH), f"lint-imports --contract for {name!r} is broken"


@pytest.mark.parametrize(("direction", "importer", "imported"), FORMER_CYCLES)
def test_each_of_the_five_former_cycles_breaks_its_contracts_again(
    direction: str, importer: str, imported: str
) -> None:
    graph = _with_import(importer, imported)
    assert not _kept(ACYCLIC, graph)
    assert not _kept(direction, graph)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_imports_reversed()))
def test_any_import_back_up_between_sibling_packages_is_refused(edge: tuple[str, str]) -> None:
    assert not _kept(ACYCLIC, _with_import(*edge))

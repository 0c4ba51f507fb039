"""Alert rules: promtool checks and unit-tests them, the PrometheusRule holds the same groups, every
alert has a summary, a description and a README runbook, and names only metrics the code exports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

# Imported for their side effect: each registers the metrics the rules name.
import services.backups.telemetry
import services.insights.telemetry
import services.integrations.telemetry  # noqa: F401
import shared.web.metrics  # noqa: F401
from services.backups.schedules.figures import _families as backup_figure_families
from shared.models.backups import BACKUP_TYPES
from shared.models.integrations import ACCESS_ACTIONS, INTEGRATION_TYPES

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
PLAIN = MONITORING / "rules.yml"
OPERATOR = MONITORING / "alerts.yaml"
UNIT_TESTS = MONITORING / "rules.test.yml"


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _alerts() -> list[dict[str, Any]]:
    return [rule for group in _load(PLAIN)["groups"] for rule in group["rules"]]


ALERTS = {rule["alert"]: rule for rule in _alerts()}


def _run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=MONITORING, capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_accepts_the_plain_rules_file(promtool: str) -> None:
    checked = _run(promtool, "check", "rules", PLAIN.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in checked.stdout


def test_every_alert_passes_its_promtool_unit_tests(promtool: str) -> None:
    tested = _run(promtool, "test", "rules", UNIT_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for case in _load(UNIT_TESTS)["tests"]:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else silent).add(check["alertname"])
    assert firing == set(ALERTS)
    assert silent == set(ALERTS)


def test_the_prometheus_rule_holds_the_same_groups_as_the_plain_file() -> None:
    operator = _load(OPERATOR)
    assert (operator["apiVersion"], operator["kind"]) == (
        "monitoring.coreos.com/v1",
        "PrometheusRule",
    )
    assert operator["spec"] == _load(PLAIN)


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_every_alert_has_a_summary_a_description_and_a_runbook_in_the_readme(name: str) -> None:
    annotations = ALERTS[name]["annotations"]
    assert annotations["summary"].strip() and annotations["description"].strip()
    assert annotations["runbook_url"] == f"README.md#{name.lower()}"
    headings = re.findall(r"^#+ (\S+)\s*$", (ROOT / "README.md").read_text(), re.M)
    assert name in headings, f"README.md has no runbook heading '#### {name}'"
    assert ALERTS[name]["labels"]["severity"] in {"warning", "critical"}


def _exported_names() -> set[str]:
    names = set(REGISTRY._names_to_collectors)  # counters are there with _total too
    names |= {family.name for family in backup_figure_families({})}
    return names


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_every_metric_an_alert_names_is_one_the_code_exports(name: str) -> None:
    expression = ALERTS[name]["expr"]
    named = set(re.findall(r"\b([a-z][a-z0-9_]*)\s*[{\[]", expression))
    named |= set(re.findall(r"\(\s*([a-z][a-z0-9_]*_(?:total|seconds|bytes))\s*\)", expression))
    assert named, expression
    assert named <= _exported_names(), named - _exported_names()


# What the alerts read with increase(): a series born at 1 would look unchanged to them.
ZERO_AT_START = [
    *[("backup_runs_total", {"schedule": s, "result": "failed"}) for s in BACKUP_TYPES],
    *[("backup_verification_total", {"schedule": s, "result": "failed"}) for s in BACKUP_TYPES],
    *[("credential_access_total", {"action": a, "outcome": "denied"}) for a in ACCESS_ACTIONS],
    *[("webhook_deliveries_total", {"vendor": v, "state": "rejected"}) for v in INTEGRATION_TYPES],
]


def test_a_fresh_process_serves_every_known_label_set_of_an_alerted_counter_at_zero(
    tmp_path: Path,
) -> None:
    # As gunicorn's master with preload_app: it imports the app, and each scrape sums the files.
    imported = subprocess.run(
        [sys.executable, "-c", "import services.backups.app, services.integrations.app"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr[-3000:]
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))  # type: ignore[no-untyped-call]
    served = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
    }
    for name, labels in ZERO_AT_START:
        assert served.get((name, tuple(sorted(labels.items())))) == 0, (name, labels)

"""Grafana dashboards: every file is a dashboard Grafana can import, every panel queries a declared
data source, every PromQL expression parses (promtool) and names only metrics the three services
really export and labels those metrics carry (scraped from the real apps), and every SQL panel
runs on the migrated MariaDB schema as the read-only login of grafana-reader.sql."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pymysql
import pytest
import yaml
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from services.backups.app import create_app as create_backups
from services.insights.app import create_app as create_insights
from services.integrations.app import create_app as create_integrations
from shared.db import make_engine
from shared.models import BackupLog, BackupSchedule, Client, CredentialAccessLog, LearningMetric
from tests.mariadb import MariaDBServer

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "deploy" / "monitoring" / "dashboards"
DASHBOARDS = sorted(FOLDER.glob("*.json"))
READER_GRANTS = FOLDER / "grafana-reader.sql"
FACTORIES: dict[str, Callable[[dict[str, str]], Flask]] = {
    "insights": create_insights,
    "integrations": create_integrations,
    "backups": create_backups,
}
# What Grafana puts in place of its own variables when it sends a query.
PROMQL_BUILTINS = {"__rate_interval": "5m", "__interval": "10m", "__range": "1d"}
# Series made by prometheus_client's default collectors in one process: under gunicorn the
# services scrape in multiprocess mode, which has none of them, so no panel may count on them.
SINGLE_PROCESS_ONLY = ("python_", "process_")
PROMQL_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan", "atan2",
}  # fmt: skip

DATASOURCE = {
    "type": "object",
    "required": ["type", "uid"],
    "properties": {"type": {"enum": ["prometheus", "mysql"]}, "uid": {"type": "string"}},
    "additionalProperties": False,
}
PROM_TARGET = {
    "type": "object",
    "required": ["refId", "datasource", "expr"],
    "properties": {
        "refId": {"type": "string", "pattern": "^[A-Z]$"},
        "datasource": DATASOURCE,
        "expr": {"type": "string", "minLength": 1},
        "legendFormat": {"type": "string"},
        "format": {"enum": ["time_series", "table"]},
        "editorMode": {"enum": ["code", "builder"]},
        "range": {"type": "boolean"},
        "instant": {"type": "boolean"},
    },
    "additionalProperties": False,
}
SQL_TARGET = {
    "type": "object",
    "required": ["refId", "datasource", "rawSql", "format", "rawQuery"],
    "properties": {
        "refId": {"type": "string", "pattern": "^[A-Z]$"},
        "datasource": DATASOURCE,
        "rawSql": {"type": "string", "minLength": 1},
        "format": {"enum": ["time_series", "table"]},
        "rawQuery": {"const": True},
        "editorMode": {"enum": ["code", "builder"]},
    },
    "additionalProperties": False,
}
PANEL = {
    "type": "object",
    "required": ["id", "type", "title", "datasource", "targets", "gridPos", "fieldConfig"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "type": {"enum": ["timeseries", "stat", "table", "bargauge"]},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1},
        "datasource": DATASOURCE,
        "targets": {"type": "array", "minItems": 1, "items": {"anyOf": [PROM_TARGET, SQL_TARGET]}},
        "gridPos": {
            "type": "object",
            "required": ["h", "w", "x", "y"],
            "properties": {
                "h": {"type": "integer", "minimum": 1},
                "w": {"type": "integer", "minimum": 1, "maximum": 24},
                "x": {"type": "integer", "minimum": 0, "maximum": 23},
                "y": {"type": "integer", "minimum": 0},
            },
            "additionalProperties": False,
        },
        "fieldConfig": {
            "type": "object",
            "required": ["defaults", "overrides"],
            "properties": {
                "defaults": {"type": "object"},
                "overrides": {"type": "array"},
            },
            "additionalProperties": False,
        },
        "options": {"type": "object"},
        "transformations": {"type": "array"},
    },
    "additionalProperties": False,
}
VARIABLE = {
    "type": "object",
    "required": ["name", "type"],
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "type": {"enum": ["datasource", "custom", "query"]},
        "query": {"type": ["string", "object"]},
        "datasource": DATASOURCE,
    },
}
# The parts of the Grafana dashboard JSON model (schemaVersion 39) these files use.
DASHBOARD = {
    "type": "object",
    "required": [
        "title", "uid", "schemaVersion", "panels", "templating", "time", "tags", "editable",
        "annotations", "refresh", "timezone", "version",
    ],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "uid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
        "description": {"type": "string"},
        "schemaVersion": {"type": "integer", "minimum": 36, "maximum": 41},
        "id": {"type": "null"},
        "panels": {"type": "array", "minItems": 1, "items": PANEL},
        "templating": {
            "type": "object",
            "required": ["list"],
            "properties": {"list": {"type": "array", "items": VARIABLE}},
        },
        "time": {
            "type": "object",
            "required": ["from", "to"],
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
        },
        "tags": {"type": "array", "items": {"type": "string"}},
        "editable": {"type": "boolean"},
        "annotations": {
            "type": "object",
            "required": ["list"],
            "properties": {"list": {"type": "array"}},
        },
        "refresh": {"type": "string"},
        "timezone": {"type": "string"},
        "version": {"type": "integer"},
        "graphTooltip": {"enum": [0, 1, 2]},
    },
}  # fmt: skip


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _targets(kind: str) -> list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(label, dashboard, panel, target) for every target of one data source type."""
    found = []
    for path in DASHBOARDS:
        dashboard = _load(path)
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                if target["datasource"]["type"] == kind:
                    label = f"{path.stem}: {panel['title']} [{target['refId']}]"
                    found.append((label, dashboard, panel, target))
    return found


PROMQL = _targets("prometheus")
SQL = _targets("mysql")


# --- the dashboard model ---------------------------------------------------------------------


def test_there_is_a_dashboard_per_area_the_operator_watches() -> None:
    assert {path.stem for path in DASHBOARDS} == {
        "msp-services",
        "msp-backups",
        "msp-vault",
        "msp-insights",
    }


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_the_readme_describes_every_dashboard(path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Dashboards\n", 1)[-1].split("\n### ", 1)[0]
    assert f"(`{path.stem}`" in section, f"README.md's Dashboards section has no {path.stem}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_every_file_is_a_grafana_dashboard(path: Path) -> None:
    dashboard = _load(path)
    jsonschema.validate(dashboard, DASHBOARD)
    assert dashboard["uid"] == path.stem
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_no_two_panels_overlap_and_all_fit_the_24_column_grid(path: Path) -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in _load(path)["panels"]:
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]
        for x in range(box["x"], box["x"] + box["w"]):
            for y in range(box["y"], box["y"] + box["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_every_panel_queries_a_data_source_the_dashboard_lets_the_importer_choose(
    path: Path,
) -> None:
    dashboard = _load(path)
    chosen = {
        variable["name"]: variable["query"]
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "datasource"
    }
    for panel in dashboard["panels"]:
        for source in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
            assert source == panel["datasource"], f"{panel['title']}: mixed data sources"
            name = re.fullmatch(r"\$\{(\w+)\}", source["uid"])
            assert name, f"{panel['title']}: a fixed data source uid {source['uid']!r}"
            assert chosen.get(name.group(1)) == source["type"], panel["title"]


# --- PromQL: it parses, and names only metrics the services export --------------------------


def _grafana_variables(
    dashboard: dict[str, Any], formatting: Callable[[list[str]], str]
) -> dict[str, str]:
    """The dashboard's own variables, as Grafana formats a selection of all their values."""
    values: dict[str, str] = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "custom":
            options = [o.strip() for o in variable["query"].split(",")]
            values[variable["name"]] = formatting(options)
    return values


def _substituted(text: str, values: dict[str, str]) -> str:
    for name, value in sorted(values.items(), key=lambda item: -len(item[0])):
        text = text.replace(f"${{{name}}}", value).replace(f"${name}", value)
    assert "$" not in text, f"a Grafana variable this test does not know is left in: {text}"
    return text


def _promql(dashboard: dict[str, Any], expression: str) -> str:
    regex = _grafana_variables(dashboard, lambda values: "(" + "|".join(values) + ")")
    return _substituted(expression, {**PROMQL_BUILTINS, **regex})


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects: every identifier that is not a function,
    a keyword, a label name (matchers, by/without/on/ignoring lists) or part of a duration."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expression)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for found in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", text):
        word, call = found.group(1), found.group(2)
        if call is None and word.lower() not in PROMQL_WORDS:
            names.add(word)
    return names


def _sample_names(exposition: str) -> set[str]:
    """Every series name a scrape can hold, from its '# TYPE' lines (a labelled metric nobody
    has touched yet has no samples, only its TYPE line)."""
    suffixes = {
        "counter": ("",),  # prometheus_client writes counters' TYPE with _total already
        "gauge": ("",),
        "untyped": ("",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("", "_sum", "_count"),
    }
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.M):
        if not name.startswith(SINGLE_PROCESS_ONLY):
            names |= {name + suffix for suffix in suffixes[kind]}
    return names


TODAY = datetime.now(UTC).date()


@dataclass(frozen=True)
class Seeded:
    """A freshly migrated database of this module's own, and the ids of the clients in it."""

    url: str
    client_ids: list[str]


@pytest.fixture(scope="module")
def seeded(mariadb_server: MariaDBServer) -> Seeded:
    """Two clients with a day of learning metrics, the all-clients row, an old day; a daily
    schedule with a verified success and a failed run."""
    url = mariadb_server.migrated_database("msp_dashboards")
    return Seeded(url, _seed(url))


def _labels_of_untouched_metrics() -> dict[str, set[str]]:
    """Label names of the metrics this process registered, samples or not (Prometheus adds
    job and instance to every series; a histogram's buckets carry le)."""
    found: dict[str, set[str]] = {}
    for name, collector in REGISTRY._names_to_collectors.items():
        labels = set(getattr(collector, "_labelnames", ()))
        found[name] = labels | ({"le"} if name.endswith("_bucket") else set())
    return found


def _scraped_labels(exposition: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, labels in re.findall(r"^([A-Za-z_:][\w:]*)(?:\{(.*)\})? \S+$", exposition, re.M):
        found.setdefault(name, set()).update(re.findall(r'(\w+)="', labels))
    return found


@pytest.fixture(scope="module")
def exported(seeded: Seeded) -> dict[str, set[str]]:
    """Series name -> label names, for every series the three real apps serve at /metrics on
    a migrated database holding a schedule, a verified backup and insights figures."""
    overrides = {"DATABASE_URL": seeded.url, "LOG_LEVEL": "WARNING"}
    scraped: dict[str, set[str]] = {}
    names: set[str] = set()
    for service, factory in FACTORIES.items():
        answer = factory(overrides).test_client().get("/metrics")
        assert answer.status_code == 200, service
        text = answer.get_data(as_text=True)
        names |= _sample_names(text)
        for name, labels in _scraped_labels(text).items():
            scraped.setdefault(name, set()).update(labels)
    registered = _labels_of_untouched_metrics()
    return {
        name: scraped.get(name, set()) | registered.get(name, set()) | {"job", "instance"}
        for name in names
    }


def _record_name(label: str) -> str:
    """A rule name promtool accepts that still says which panel a parse error is in."""
    return re.sub(r"[^A-Za-z0-9_:]+", "_", label).strip("_")


def test_every_promql_expression_parses(promtool: str, tmp_path: Path) -> None:
    """promtool has no 'check expr': each expression becomes a recording rule it checks."""
    rules = [
        {"record": _record_name(label), "expr": _promql(dashboard, target["expr"])}
        for label, dashboard, _, target in PROMQL
    ]
    path = tmp_path / "dashboard-expressions.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout


def _panel_promql(uid: str, title: str) -> str:
    dashboard = _load(FOLDER / f"{uid}.json")
    (panel,) = [p for p in dashboard["panels"] if p["title"] == title]
    return _promql(dashboard, panel["targets"][0]["expr"])


# (dashboard, panel title, input series at 1-minute steps, expected samples at 10m).
# time() is 600 at 10m: promtool's clock starts at 0.
PANEL_CASES = {
    "a schedule is overdue by its newest verified backup, or by its creation if it never had one": (
        "msp-backups",
        "Overdue: age / schedule interval",
        {
            'backup_last_success_timestamp_seconds{database="msp",schedule="daily"}': "0x10",
            'backup_schedule_interval_seconds{database="msp",schedule="daily"}': "400x10",
            'backup_schedule_created_timestamp_seconds{database="msp",schedule="daily"}': "0x10",
            'backup_schedule_interval_seconds{database="crm",schedule="weekly"}': "100x10",
            'backup_schedule_created_timestamp_seconds{database="crm",schedule="weekly"}': "300x10",
        },
        {'{database="msp",schedule="daily"}': 1.5, '{database="crm",schedule="weekly"}': 3.0},
    ),
    "a broken chain verified after the last passing one shows 1 (BROKEN)": (
        "msp-vault",
        "Audit chain: newest verification",
        {
            'audit_chain_last_verification_timestamp_seconds{result="ok"}': "100x10",
            'audit_chain_last_verification_timestamp_seconds{result="broken"}': "200x10",
        },
        {"{}": 1.0},
    ),
    "a passing verification after a broken one shows 0 (passed)": (
        "msp-vault",
        "Audit chain: newest verification",
        {
            'audit_chain_last_verification_timestamp_seconds{result="broken"}': "100x10",
            'audit_chain_last_verification_timestamp_seconds{result="ok"}': "200x10",
        },
        {"{}": 0.0},
    ),
    "only passing verifications show 0 (passed)": (
        "msp-vault",
        "Audit chain: newest verification",
        {'audit_chain_last_verification_timestamp_seconds{result="ok"}': "200x10"},
        {"{}": 0.0},
    ),
    "the 5xx ratio of a service is its 5xx answers over all of them, each replica summed": (
        "msp-services",
        "5xx ratio by service",
        {
            'http_requests_total{service="insights",route="/v1/x",status="500",instance="a"}': (
                "0+1x10"
            ),
            'http_requests_total{service="insights",route="/v1/x",status="200",instance="a"}': (
                "0+2x10"
            ),
            'http_requests_total{service="insights",route="/v1/x",status="200",instance="b"}': (
                "0+1x10"
            ),
            'http_requests_total{service="backups",route="/v1/y",status="200",instance="c"}': (
                "0+5x10"
            ),
        },
        {'{service="insights"}': 0.25, '{service="backups"}': 0.0},
    ),
    "a service with answers and no 5xx shows 0%, not an empty top-row stat": (
        "msp-services",
        "5xx ratio",
        {'http_requests_total{service="backups",route="/v1/y",status="200"}': "0+5x10"},
        {"{}": 0.0},
    ),
    "a PSA vendor whose calls all succeed shows an error ratio of 0": (
        "msp-vault",
        "PSA error ratio",
        {
            'psa_requests_total{vendor="syncro",outcome="success"}': "0+3x10",
            'psa_requests_total{vendor="autotask",outcome="server_error"}': "0+1x10",
            'psa_requests_total{vendor="autotask",outcome="success"}': "0+1x10",
        },
        {'{vendor="syncro"}': 0.0, '{vendor="autotask"}': 0.5},
    ),
    "rate-limit waits are counted per minute": (
        "msp-vault",
        "Rate-limit waits per minute",
        {'psa_rate_limit_waits_total{vendor="syncro",source="vendor"}': "0+4x10"},
        {'{vendor="syncro",source="vendor"}': 4.0},
    ),
}


def test_panels_show_the_numbers_they_promise(promtool: str, tmp_path: Path) -> None:
    """promtool evaluates the panels' own expressions on made-up series."""
    (tmp_path / "none.yml").write_text("groups: []\n")
    tests = []
    for name, (uid, title, series, expected) in PANEL_CASES.items():
        check = {
            "expr": _panel_promql(uid, title),
            "eval_time": "10m",
            "exp_samples": [{"labels": k, "value": v} for k, v in expected.items()],
        }
        inputs = [{"series": k, "values": v} for k, v in series.items()]
        tests.append({"name": name, "interval": "1m", "input_series": inputs,
                      "promql_expr_test": [check]})  # fmt: skip
    path = tmp_path / "panels.test.yml"
    path.write_text(yaml.safe_dump({"rule_files": ["none.yml"], "tests": tests}))
    tested = subprocess.run(
        [promtool, "test", "rules", path.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize(
    ("label", "dashboard", "target"), [pytest.param(*t[:2], t[3], id=t[0]) for t in PROMQL]
)
def test_every_metric_a_panel_names_is_one_the_services_export(
    label: str, dashboard: dict[str, Any], target: dict[str, Any], exported: dict[str, set[str]]
) -> None:
    named = metric_names(_promql(dashboard, target["expr"]))
    assert named, f"{label}: no metric found in {target['expr']}"
    assert named <= set(exported), f"{label}: not exported: {sorted(named - set(exported))}"


def label_names(expression: str, legend: str) -> set[str]:
    """Label names an expression matches or groups on, and those its legend shows."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    names = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"", text))
    for listed in re.findall(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", text
    ):
        names |= {name.strip() for name in listed.split(",") if name.strip()}
    return names | set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))


@pytest.mark.parametrize(
    ("label", "dashboard", "target"), [pytest.param(*t[:2], t[3], id=t[0]) for t in PROMQL]
)
def test_every_label_a_panel_matches_groups_or_shows_is_one_its_metrics_carry(
    label: str, dashboard: dict[str, Any], target: dict[str, Any], exported: dict[str, set[str]]
) -> None:
    expression = _promql(dashboard, target["expr"])
    carried = set().union(*(exported.get(name, set()) for name in metric_names(expression)))
    used = label_names(expression, target.get("legendFormat", ""))
    assert used <= carried, f"{label}: no metric of it has {sorted(used - carried)}"


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        (
            'sum by (service) (rate(http_requests_total{status=~"5.."}[5m]))',
            {"http_requests_total"},
        ),
        (
            "histogram_quantile(0.95, sum by (le) (rate(backup_bytes_bucket[6h])))",
            {"backup_bytes_bucket"},
        ),
        (
            'time() - max(audit_chain_last_verification_timestamp_seconds{result="ok"}) or vector(0)',
            {"audit_chain_last_verification_timestamp_seconds"},
        ),
        (
            "a_seconds / on (job, instance) group_left (service) b_info > bool 1e3 unless c offset 5m",
            {"a_seconds", "b_info", "c"},
        ),
        ('label_replace(up, "by", "$1", "job", "(sum)")', {"up"}),
    ],
)
def test_the_metric_reader_finds_selectors_and_nothing_else(
    expression: str, named: set[str]
) -> None:
    assert metric_names(expression) == named


@pytest.mark.parametrize(
    ("expression", "legend", "wrong"),
    [
        ("sum by (vendr) (rate(psa_requests_total[5m]))", "{{vendr}}", "vendr"),
        ('sum(rate(http_requests_total{servce="insights"}[5m]))', "", "servce"),
        ("sum by (service) (rate(http_requests_total[5m]))", "{{vendor}}", "vendor"),
        ("max by (database, schedule) (backup_running)", "", "database"),
    ],
)
def test_a_label_no_metric_of_the_panel_carries_is_refused(
    expression: str, legend: str, wrong: str, exported: dict[str, set[str]]
) -> None:
    carried = set().union(*(exported[name] for name in metric_names(expression)))
    assert wrong in label_names(expression, legend) - carried


_TEMPLATES = (
    "sum(rate({}[5m]))",
    'sum by (vendor) (increase({}{{outcome="denied"}}[$__interval]))',
    "histogram_quantile(0.9, sum by (le) (rate({}[$__rate_interval])))",
    "time() - max by (database) ({})",
    "http_requests_total / {}",
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.from_regex(r"\A[a-z][a-z0-9_]{0,30}(_total|_seconds|_bucket|_bytes)?\Z"),
    template=st.sampled_from(_TEMPLATES),
)
def test_a_panel_naming_a_metric_nobody_exports_is_refused(
    name: str, template: str, exported: dict[str, set[str]]
) -> None:
    if name in exported or name.lower() in PROMQL_WORDS:
        return
    dashboard: dict[str, Any] = {"templating": {"list": []}}
    named = metric_names(_promql(dashboard, template.format(name)))
    assert name in named and not named <= set(exported)


def test_a_gauge_is_not_read_as_a_counter_nor_a_histogram_as_its_bare_name(
    exported: dict[str, set[str]],
) -> None:
    assert {"backup_running", "http_request_duration_seconds_bucket"} <= set(exported)
    assert not {"backup_running_total", "http_request_duration_seconds"} & set(exported)


# --- SQL: every panel runs as the read-only login, and shows what it says --------------------


def _sql_values(ids: list[str], start: datetime, end: datetime) -> dict[str, str]:
    """Grafana's MySQL macros and a multi-value variable, as Grafana expands them."""
    return {
        "client": ",".join(f"'{value}'" for value in ids),
        "__timeFrom()": f"FROM_UNIXTIME({int(start.timestamp())})",
        "__timeTo()": f"FROM_UNIXTIME({int(end.timestamp())})",
    }


def _expand(query: str, values: dict[str, str]) -> str:
    start, end = values["__timeFrom()"], values["__timeTo()"]
    query = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN {start} AND {end}", query)
    return _substituted(query, values)


def _seed(url: str) -> list[str]:
    engine = make_engine(url)
    started = datetime.now(UTC) - timedelta(hours=2)
    with Session(engine) as session:
        schedule = BackupSchedule(name="nightly", backup_type="daily", cron_expression="0 2 * * *")
        session.add(schedule)
        clients = [Client(name="Acme"), Client(name="Globex")]
        session.add_all(clients)
        session.flush()  # ids for the rows below
        for client, (observed, repeats) in zip(clients, [(4, 3), (0, 0)], strict=True):
            session.add(_day(TODAY, client.id, observed, repeats, flagged=2, prevented=1))
        session.add(_day(TODAY, None, 4, 3, flagged=4, prevented=2))
        session.add(_day(TODAY - timedelta(days=400), clients[0].id, 9, 9, flagged=9, prevented=9))
        for status, size in (("succeeded", 2048), ("failed", None)):
            session.add(
                BackupLog(
                    schedule_id=schedule.id,
                    backup_type="daily",
                    status=status,
                    database_name="msp",
                    file_size_bytes=size,
                    backup_started_at=started,
                    backup_completed_at=started + timedelta(seconds=90),
                    verification_status="passed" if size else "failed",
                )
            )
        for seq, (action, outcome) in enumerate([("revealed", "success"), ("revealed", "denied")]):
            session.add(_access_row(seq, action, outcome))
        session.commit()
        ids = [client.id for client in clients]
    engine.dispose()
    return ids


def _access_row(seq: int, action: str, outcome: str) -> CredentialAccessLog:
    """An access-log row as the dashboards read it (its hashes are not checked here)."""
    return CredentialAccessLog(
        chain=0,
        seq=seq,
        credential_id=str(uuid.uuid4()),
        credential_version=1,
        action=action,
        outcome=outcome,
        prev_hash="0" * 64,
        row_hash=f"{seq:064x}",
    )


def _day(
    day: date, client_id: str | None, observed: int, repeats: int, *, flagged: int, prevented: int
) -> LearningMetric:
    return LearningMetric(
        metric_date=day,
        client_id=client_id,
        failures_observed=observed,
        repeat_failures=repeats,
        checks_served=flagged * 2,
        checks_flagged=flagged,
        checks_wrong=0,
        failures_prevented=prevented,
        briefings_served=1,
    )


@pytest.fixture(scope="module")
def reader(
    mariadb_server: MariaDBServer, seeded: Seeded
) -> Iterator[tuple[pymysql.Connection, list[str]]]:
    """A connection to the seeded database as the login that grafana-reader.sql makes (its
    database and login names swapped for this run's own)."""
    database = make_url(seeded.url).database
    ids = seeded.client_ids
    login, password = f"grafana_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    grants = READER_GRANTS.read_text(encoding="utf-8")
    grants = re.sub(r"--[^\n]*", "", grants).replace("`msp`.", f"`{database}`.")
    grants = grants.replace("'grafana_reader'", f"'{login}'").replace("change-me", password)
    with mariadb_server.connect() as admin, admin.cursor() as cursor:
        for statement in filter(str.strip, grants.split(";")):
            cursor.execute(statement)
    connection = pymysql.connect(
        host=mariadb_server.host,
        port=mariadb_server.port,
        user=login,
        password=password,
        database=database,
        autocommit=True,
        init_command="SET time_zone = '+00:00'",  # as Grafana's MySQL data source does
    )
    try:
        yield connection, ids
    finally:
        connection.close()
        with mariadb_server.connect() as admin, admin.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{login}'@'%'")


def _run(connection: pymysql.Connection, query: str) -> tuple[list[str], list[Any]]:
    with connection.cursor() as cursor:
        cursor.execute(query)
        columns = [column[0] for column in cursor.description or ()]
        return columns, list(cursor.fetchall())


def _run_panel(
    reader: tuple[pymysql.Connection, list[str]], query: str
) -> tuple[list[str], list[Any]]:
    connection, ids = reader
    now = datetime.now(UTC)
    return _run(connection, _expand(query, _sql_values(ids, now - timedelta(days=30), now)))


@pytest.mark.parametrize(("label", "target"), [pytest.param(t[0], t[3], id=t[0]) for t in SQL])
def test_every_sql_panel_runs_as_the_read_only_login(
    label: str, target: dict[str, Any], reader: tuple[pymysql.Connection, list[str]]
) -> None:
    columns, rows = _run_panel(reader, target["rawSql"])
    assert rows, f"{label}: no rows from the seeded database"
    if target["format"] == "time_series":
        assert columns[0] == "time", f"{label}: Grafana needs the time column first"
        assert len(columns) >= 2, label


def test_the_client_variable_lists_every_client_as_the_reader(
    reader: tuple[pymysql.Connection, list[str]],
) -> None:
    dashboard = _load(FOLDER / "msp-insights.json")
    (variable,) = [v for v in dashboard["templating"]["list"] if v["name"] == "client"]
    columns, rows = _run(reader[0], variable["query"])
    assert columns == ["__text", "__value"]
    assert rows == [("Acme", reader[1][0]), ("Globex", reader[1][1])]


def _panel_sql(uid: str, title: str) -> str:
    (panel,) = [p for p in _load(FOLDER / f"{uid}.json")["panels"] if p["title"] == title]
    sql: str = panel["targets"][0]["rawSql"]
    return sql


def test_the_repeat_failure_rate_is_repeats_over_failures_on_days_with_failures(
    reader: tuple[pymysql.Connection, list[str]],
) -> None:
    query = _panel_sql("msp-insights", "Repeat-failure rate per client per day")
    _, rows = _run_panel(reader, query)
    # Globex had no failure that day: no point, rather than a rate of 0 or a division by zero.
    assert [(when, name, float(rate)) for when, name, rate in rows] == [(TODAY, "Acme", 0.75)]


def test_failures_prevented_per_client_keep_to_the_time_range(
    reader: tuple[pymysql.Connection, list[str]],
) -> None:
    query = _panel_sql("msp-insights", "Failures prevented per client per day")
    _, rows = _run_panel(reader, query)
    assert rows == [(TODAY, "Acme", 1), (TODAY, "Globex", 1)]  # not the day 400 days ago


def test_backup_counts_come_from_backup_log_whichever_process_ran_them(
    reader: tuple[pymysql.Connection, list[str]],
) -> None:
    counts = {
        title: _run_panel(reader, _panel_sql("msp-backups", title))[1]
        for title in ("Failed in range", "Verification failures in range", "Succeeded in range")
    }
    assert counts == {title: [(1,)] for title in counts}
    _, per_hour = _run_panel(reader, _panel_sql("msp-backups", "Backups per hour by result"))
    assert [(metric, value) for _, metric, value in per_hour] == [
        ("daily failed", 1),
        ("daily succeeded", 1),
    ]


def test_the_access_log_panel_counts_the_log_rows_by_action_and_outcome(
    reader: tuple[pymysql.Connection, list[str]],
) -> None:
    query = _panel_sql("msp-vault", "Access log per hour (from the log itself)")
    _, rows = _run_panel(reader, query)
    assert [(metric, value) for _, metric, value in rows] == [
        ("revealed denied", 1),
        ("revealed success", 1),
    ]


def test_the_reader_cannot_read_what_the_dashboards_do_not_show(
    reader: tuple[pymysql.Connection, list[str]],
) -> None:
    for forbidden in (
        "SELECT notes FROM clients",
        "SELECT error_message FROM backup_log",
        "SELECT encrypted_secret FROM integration_credentials",
        "SELECT purpose, on_behalf_of FROM credential_access_log",
        "SELECT token_hash FROM api_tokens",
        "UPDATE learning_metrics SET failures_prevented = 0",
    ):
        with pytest.raises(pymysql.err.OperationalError) as refused:
            _run(reader[0], forbidden)
        assert refused.value.args[0] in {1142, 1143}, forbidden  # table/column access denied

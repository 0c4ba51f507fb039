"""/metrics under gunicorn counts the requests of every worker, whichever worker answers it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.processes import RunningService, get
from tests.e2e.stack import Stack, stack_environments
from tests.polling import eventually

MAX_BATCHES = 50
BATCH = 10
SCRAPES = 8


@pytest.fixture(scope="module", params=["true", "false"], ids=["preloaded", "not-preloaded"])
def insights(
    request: pytest.FixtureRequest,
    database_url: str,
    token_factory: Callable[..., str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningService]:
    """Insights alone under the deployed gunicorn config, with two workers and no other traffic."""
    workdir: Path = tmp_path_factory.mktemp("metrics")
    (workdir / "backups").mkdir()
    envs = stack_environments(database_url, token_factory, workdir, GUNICORN_PRELOAD=request.param)
    assert envs["insights"]["GUNICORN_WORKERS"] == "2"
    service = Stack(envs=envs, workdir=workdir).launch("insights")
    yield service
    assert service.stop() == 0, service.log()


def healthz_pids(service: RunningService) -> list[int]:
    """The worker pid of every /healthz line in the access log, in order."""
    pids = []
    for line in service.log().splitlines():
        if '"gunicorn.access"' in line:
            entry = json.loads(line)
            if entry["path"] == "/healthz":
                pids.append(entry["pid"])
    return pids


def logged_healthz_pids(service: RunningService, count: int) -> list[int]:
    """The worker pids of `count` /healthz answers, once gunicorn has logged them all."""
    # gunicorn writes the access line after the answer has gone out
    return eventually(lambda: (p := healthz_pids(service)) and len(p) == count and p, within=10)


def send_healthz_until_two_workers_answered(service: RunningService) -> int:
    """GET /healthz on fresh connections until both workers have answered; how many sent."""
    sent = 0
    for _ in range(MAX_BATCHES):
        for _ in range(BATCH):
            assert get(service.base_url + "/healthz").status == 200
        sent += BATCH
        if len(set(logged_healthz_pids(service, sent))) >= 2:
            return sent
    raise AssertionError(f"one worker answered all {sent} requests:\n{service.log()}")


def healthz_count(scrape: str) -> float:
    """http_requests_total for GET /healthz 200 in one /metrics answer."""
    for family in text_string_to_metric_families(scrape):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "http_requests_total"
                and labels.get("route") == "/healthz"
                and labels.get("status") == "200"
            ):
                return sample.value
    return 0.0


def test_every_scrape_sums_the_requests_of_both_workers(insights: RunningService) -> None:
    sent = send_healthz_until_two_workers_answered(insights)
    for _ in range(SCRAPES):
        answer = get(insights.base_url + "/metrics")
        assert answer.status == 200
        assert healthz_count(answer.body.decode()) == sent


def test_a_scrape_adds_the_figures_read_from_the_database_and_the_pools_of_both_workers(
    insights: RunningService,
) -> None:
    families = {
        family.name: family
        for family in text_string_to_metric_families(
            get(insights.base_url + "/metrics").body.decode()
        )
    }
    # Read from the database by whichever worker answered: one series per closed label pair.
    environmental = families["insights_environmental"].samples
    assert len(environmental) == 3 * 4  # confidence levels x statuses
    assert [s.value for s in families["metrics_database_read_ok"].samples] == [1.0]
    # Live gauges summed over the workers' files: idle now, so nothing is checked out.
    in_use = families["db_pool_connections_in_use"].samples
    assert [(s.labels["service"], s.value) for s in in_use] == [("insights", 0.0)]

"""A job's control stops exactly the children running when it is stopped, or started after."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.backups.dump.job_control import (
    JobControl,
    JobInterrupted,
    running_under,
    stopped_with_job,
)

Step = tuple[str, int]
steps = st.lists(
    st.tuples(st.sampled_from(["start", "end", "stop"]), st.integers(0, 4)), max_size=30
)


@given(steps)
def test_a_stop_reaches_every_child_running_then_or_started_later_and_no_other(
    plan: list[Step],
) -> None:
    control = JobControl()
    open_blocks: dict[int, contextlib.ExitStack] = {}
    called: list[int] = []
    should_be_called: set[int] = set()
    reasons: list[str] = []
    for action, child in plan:
        if action == "start" and child not in open_blocks:
            stack = contextlib.ExitStack()
            stack.enter_context(control.stopping(lambda child=child: called.append(child)))
            open_blocks[child] = stack
            if reasons:
                should_be_called.add(child)
        elif action == "end" and child in open_blocks:
            open_blocks.pop(child).close()
        elif action == "stop":
            control.stop(f"reason {child}")
            reasons.append(f"reason {child}")
            should_be_called |= set(open_blocks)
    assert set(called) == should_be_called
    assert control.reason == (reasons[0] if reasons else None)  # the first reason wins
    if reasons:
        with pytest.raises(JobInterrupted, match=reasons[0]):
            control.check()
    else:
        control.check()


def test_outside_a_job_a_child_is_never_stopped_by_anyone() -> None:
    called: list[str] = []
    with stopped_with_job(lambda: called.append("x")):
        pass
    control = JobControl()
    with running_under(control), stopped_with_job(lambda: called.append("in job")):
        control.stop("interrupted by shutdown")
    assert called == ["in job"]

"""Work handed to another thread runs under the request id of the code that handed it over."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from shared.observability import (
    RequestIdExecutor,
    carrying_request_id,
    current_request_id,
    request_id_var,
)

REQUEST_IDS = st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True)
# One pool for every example: its single thread is reused, as the backups app's threads are.
POOL = RequestIdExecutor(max_workers=1)


@given(request_id=REQUEST_IDS)
def test_a_pooled_job_sees_the_id_of_its_submitter_and_the_next_job_does_not(
    request_id: str,
) -> None:
    token = request_id_var.set(request_id)
    try:
        seen = POOL.submit(current_request_id).result()
    finally:
        request_id_var.reset(token)
    assert seen == request_id
    assert POOL.submit(current_request_id).result() is None, "the id leaked into the next job"


@given(request_id=REQUEST_IDS)
def test_work_wrapped_now_runs_later_in_a_new_thread_under_the_id_of_now(request_id: str) -> None:
    token = request_id_var.set(request_id)
    work = carrying_request_id(current_request_id)
    request_id_var.reset(token)  # the request ends before the work runs
    seen: list[str | None] = []
    thread = threading.Thread(target=lambda: seen.append(work()))
    thread.start()
    thread.join()
    assert seen == [request_id]
    assert current_request_id() is None

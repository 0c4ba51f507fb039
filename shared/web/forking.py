"""What a worker forked from a preloaded app must not share with its parent: open connections."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

_RESETS = "after_fork_resets"  # deploy/gunicorn.conf.py post_fork runs what is listed here


def on_worker_fork(app: Flask, reset: Callable[[], None]) -> None:
    """Have `reset` run in every worker forked from the process that built `app`."""
    app.extensions.setdefault(_RESETS, []).append(reset)


def reset_after_fork(app: Flask) -> None:
    """Drop the connections and clients the app holds, in a freshly forked worker.

    gunicorn preloads the app in its master and forks the workers from it: sockets, TLS state
    and client locks are copied, so without this every worker would talk through its
    parent's (and its siblings') connections. deploy/gunicorn.conf.py's post_fork does the
    same, reading the list off the app so that it imports nothing into a bare app's workers.
    """
    for reset in app.extensions.get(_RESETS, []):
        reset()

"""Figures that cost a scan to count (the funnel, the queue's ageing, how many cases are open), kept per process
and recounted when the data under them changes.

A figure is stored with a *version* of its data, read in one cheap statement on every use (for the pipeline:
the newest case's id and the newest milestone's id; every move of a case appends a milestone, and milestones are
never edited). A different version recounts. Ids are taken before their transaction commits, so a move committed
after a later-numbered one can leave the version unchanged: no figure is therefore older than `MAX_AGE` seconds.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app

T = TypeVar("T")

MAX_AGE = 60.0

_lock = threading.Lock()


def _figures() -> dict[Hashable, tuple[Hashable, float, object]]:
    """This application's figures (each app, so each test's, has its own)."""
    return current_app.extensions.setdefault("portal.figures", {})


def cached(key: Hashable, version: Hashable, compute: Callable[[], T], *, max_age: float = MAX_AGE) -> T:
    """`compute()`'s value for `key`, recounted unless the one stored has the same `version` and is younger
    than `max_age` seconds."""
    now = time.monotonic()
    figures = _figures()
    hit = figures.get(key)
    if hit is not None and hit[0] == version and now - hit[1] < max_age:
        return hit[2]  # type: ignore[return-value]
    value = compute()
    with _lock:
        if len(figures) > 1000:  # keys are a handful of figures × filters: it never grows past this
            figures.clear()
        figures[key] = (version, now, value)
    return value

"""Work on a second thread while the first goes on: for steps that spend their time outside
the GIL (DuckDB, Arrow, shapely, OpenSSL), so an import can use both cores of a small server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def in_background(function: Callable[..., T], *args: object) -> Callable[[], T]:
    """Start ``function(*args)`` on a daemon thread; the answer is a call that waits for its result.

    An exception in ``function`` is raised again by that call, in the caller's thread. A daemon
    thread never keeps the process alive: a CLI import that fails early exits at once.
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as exc:  # noqa: BLE001 — re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")  # type: ignore[return-value]

    return result

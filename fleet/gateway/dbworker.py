"""The gateway's only way to the database: one worker thread, off the event loop.

The ORM is synchronous and refuses to run on a thread with a running event loop, and the hot
path must never wait for PostgreSQL. All the gateway still reads from the database is the
terminal directory (reload, and the lookup of a terminal not in it yet at registration or
authentication), so a single thread is enough; it also keeps a single database connection per
gateway process. The gateway writes nothing: IC-card sign-in/out (0x0702) and waybills (0x0701)
are published as reported and applied by the pipeline worker (fleet.telemetry.cards).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


def _call(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    from django.db import close_old_connections

    # Like a request: drop a connection that broke or outlived CONN_MAX_AGE, before and after.
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()


def _close_all() -> None:
    from django.db import connections

    connections.close_all()


class DbWorker:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-db")

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(_call, fn, args, kwargs))

    def close(self) -> None:
        """Close the thread's database connection and stop the thread (blocks until done)."""
        with contextlib.suppress(Exception):  # shutting down anyway
            self._pool.submit(_close_all).result(timeout=10)
        self._pool.shutdown(wait=True)

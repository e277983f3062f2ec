"""A connection pool that hands a returned connection to the longest waiter.

SQLAlchemy's asyncio pool lets a task that asks for a connection take one that is free
at that instant, even while others have been waiting for it: the waiter woken by the
return finds the queue empty again and joins the back of the line. On SQLite's one
writer connection, whose statements run on the event loop (storage/sqlite_driver.py), a
task that commits and at once begins its next transaction never yields in between, so
it kept the connection and a request could wait seconds behind it (p99 3.7 s against
p50 86 ms under `bench/single_send.py`). Here a connection returned while anyone waits
goes straight to the first of them; a free one is only taken when nobody waits.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import await_
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty, Full


class FairQueue(AsyncAdaptedQueue[Any]):
    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._free: deque[Any] = deque()
        self._waiters: deque[asyncio.Future[Any]] = deque()

    def empty(self) -> bool:
        return not self._free

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._free)

    def qsize(self) -> int:
        return len(self._free)

    def put_nowait(self, item: Any) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter that timed out or was cancelled is gone
                waiter.set_result(item)
                return
        if self.full():
            raise Full()
        self._free.append(item)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.put_nowait(item)  # the pool never holds more than it made: never full

    def get_nowait(self) -> Any:
        if not self._free:
            raise Empty()
        return self._free.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if self._free or not block:
            return self.get_nowait()  # free only while nobody waits: see put_nowait
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return await_(self._wait(waiter, seconds=timeout))

    async def _wait(self, waiter: asyncio.Future[Any], *, seconds: float | None) -> Any:
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), seconds)
        except TimeoutError as exc:
            if waiter.done() and not waiter.cancelled():
                return waiter.result()  # handed over just as the time ran out: keep it
            waiter.cancel()
            raise Empty() from exc
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.put_nowait(waiter.result())  # handed to a task that is leaving
            else:
                waiter.cancel()
            raise


class FairAsyncQueuePool(AsyncAdaptedQueuePool):
    _queue_class = FairQueue

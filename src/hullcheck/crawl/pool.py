"""A thread pool that lets go: work in daemon threads, results as they finish, prompt stop.

`concurrent.futures.ThreadPoolExecutor` drains its queue on shutdown and joins its threads at
interpreter exit, so a SIGTERM during a crawl of a slow registry waited for hundreds of
requests (26 s measured). Here a stop (an exception in the caller, or the `stop` event)
drops the queued items at once; threads still inside a request or a git process finish on
their own, and being daemons they never hold the process open after the run is recorded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar, cast

from hullcheck.errors import Stopped

Item = TypeVar("Item")
Result = TypeVar("Result")

_DONE = object()


def map_unordered(
    fn: Callable[[Item], Result],
    items: Iterable[Item],
    workers: int,
    stop: threading.Event,
    name: str = "crawl",
    cancel: threading.Event | None = None,
) -> Iterator[Result]:
    """`fn` over `items` in up to `workers` threads, yielding each result as it finishes.

    An exception raised by `fn` is re-raised here (after which the pool stops). Closing the
    generator, or an exception in the caller's loop, sets `stop`: no queued item starts.
    `cancel` set from outside (a signal handler: it must not raise inside a database call, where
    DuckDB would turn the exception into "Query interrupted") raises `Stopped` here, within 0.25 s.
    """
    todo: queue.SimpleQueue[Item] = queue.SimpleQueue()
    count = 0
    for item in items:
        todo.put(item)
        count += 1
    done: queue.SimpleQueue[object] = queue.SimpleQueue()

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put(fn(item))
                except BaseException as e:  # handed to the caller, who decides
                    done.put(_Failure(e))
                    return
        finally:
            done.put(_DONE)

    threads = [threading.Thread(target=work, name=f"{name}-{i}", daemon=True) for i in range(min(workers, count))]
    for t in threads:
        t.start()
    running = len(threads)
    try:
        while running:
            if cancel is not None and cancel.is_set():
                raise Stopped("the audit was asked to stop")
            try:
                got = done.get(timeout=0.25)
            except queue.Empty:
                continue
            if got is _DONE:
                running -= 1
            elif isinstance(got, _Failure):
                raise got.error
            else:
                yield cast(Result, got)
    except BaseException:
        stop.set()
        raise


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error

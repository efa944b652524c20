"""One pool doing the parallel work, so Numba's and BLAS's threads never compete.

Every Numba kernel in fastconv is serial and releases the GIL; algorithms split their output
into disjoint tasks and run them here: on the calling thread plus ``numba.get_num_threads() - 1``
persistent worker threads. Algorithms that alternate a gather (Numba) with a matrix product
(BLAS) hold BLAS to one thread meanwhile: letting both libraries start their own threads
oversubscribes the cores, and OpenBLAS's workers keep spinning after each call and slow the
next gather several-fold. The workers are plain threads fed through queues, because a
hand-off must cost microseconds, not the ~60 µs of a ``concurrent.futures`` round trip.

One parallel call runs at a time (calls from several user threads queue on a lock); a call
made from inside a task runs its tasks serially on that thread. After ``fork`` the child
starts with no workers and makes new ones on its first parallel call.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any, TypeVar

import numba
from threadpoolctl import ThreadpoolController

T = TypeVar("T")

_state_lock = threading.Lock()  # guards the worker list and the BLAS controller
_call_lock = threading.Lock()  # one parallel call at a time
_workers: list[queue.SimpleQueue] = []  # one inbox per worker thread
_controller: ThreadpoolController | None = None
_local = threading.local()  # .in_task: this thread is running a task of a parallel call


def num_threads() -> int:
    """Threads fastconv uses: Numba's setting (``numba.set_num_threads`` changes it)."""
    return numba.get_num_threads()


def _serve(inbox: queue.SimpleQueue) -> None:
    _local.in_task = True  # anything this thread runs is part of a parallel call
    while True:
        job, done = inbox.get()
        try:
            job()
            done.put(None)
        except BaseException as exc:  # handed to the caller, re-raised there
            done.put(exc)


def _inboxes(count: int) -> list[queue.SimpleQueue]:
    with _state_lock:
        while len(_workers) < count:
            inbox: queue.SimpleQueue = queue.SimpleQueue()
            threading.Thread(
                target=_serve, args=(inbox,), daemon=True, name=f"fastconv-{len(_workers) + 1}"
            ).start()
            _workers.append(inbox)
        return _workers[:count]


def _blas_controller() -> ThreadpoolController:
    global _controller
    with _state_lock:
        if _controller is None:
            _controller = ThreadpoolController()
        return _controller


def _after_fork_in_child() -> None:
    """Worker threads do not survive ``fork``: forget them, and any lock held at the fork."""
    global _workers, _controller, _state_lock, _call_lock
    _workers = []
    _controller = None
    _state_lock = threading.Lock()
    _call_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def run_tasks(
    fn: Callable[[T, int], Any],
    tasks: Sequence[T],
    *,
    blas: bool = False,
    threads: int | None = None,
) -> None:
    """Call ``fn(task, worker)`` for every task; ``worker`` indexes a per-thread workspace.

    Tasks are dealt round-robin to ``min(num_threads(), len(tasks))`` workers; the calling
    thread is worker 0. With ``blas=True`` (the tasks call BLAS) and more than one worker, BLAS
    is held to one thread meanwhile; a single worker leaves BLAS its own threads. The first
    exception raised by a task is re-raised here after every worker has finished (a worker
    stops at its first exception). ``threads`` caps the workers (default: ``num_threads()``).
    """
    threads = min(num_threads() if threads is None else threads, len(tasks))
    if threads <= 1 or getattr(_local, "in_task", False):
        for task in tasks:
            fn(task, 0)
        return

    def work(worker: int) -> None:
        for task in tasks[worker::threads]:
            fn(task, worker)

    def caller_part() -> None:
        _local.in_task = True
        try:
            work(0)
        finally:
            _local.in_task = False

    done: queue.SimpleQueue = queue.SimpleQueue()
    errors: list[BaseException] = []
    with _call_lock:  # taken before BLAS is limited, so concurrent calls restore it in order
        limit = _blas_controller().limit(limits=1, user_api="blas") if blas else nullcontext()
        with limit:
            for i, inbox in enumerate(_inboxes(threads - 1), start=1):
                inbox.put((lambda i=i: work(i), done))
            try:
                caller_part()
            except BaseException as exc:
                errors.append(exc)
            for _ in range(threads - 1):
                result = done.get()
                if result is not None:
                    errors.append(result)
    if errors:
        raise errors[0]

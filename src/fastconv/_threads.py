"""One pool doing the parallel work, so Numba's and BLAS's threads never compete.

Every Numba kernel in fastconv is serial and releases the GIL; algorithms split their output
into disjoint tasks and run them here: on the calling thread plus ``num_threads() - 1``
persistent worker threads (:func:`set_num_threads`; the same count is the ``workers`` of the
FFTs). Algorithms that alternate a gather (Numba) with a matrix product
(BLAS) hold BLAS to one thread meanwhile: letting both libraries start their own threads
oversubscribes the cores, and OpenBLAS's workers keep spinning after each call and slow the
next gather several-fold. The workers are plain threads fed through queues, because a
hand-off must cost microseconds, not the ~60 µs of a ``concurrent.futures`` round trip.

One parallel call runs at a time (calls from several user threads queue on a lock); a call
made from inside a task runs its tasks serially on that thread. After ``fork`` the child
starts with no workers and makes new ones on its first parallel call.
"""

from __future__ import annotations

import operator
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
#: fastconv's own thread count. Not ``numba.get_num_threads()``: fastconv never runs Numba's
#: parallel layer, whose count that is, and asking for it starts that layer's threads and costs
#: ~1.3 µs, a tenth of the smallest call.
_count = numba.config.NUMBA_NUM_THREADS


def max_threads() -> int:
    """The most threads :func:`set_num_threads` accepts: the CPUs Numba found (or was given by
    ``NUMBA_NUM_THREADS``)."""
    return numba.config.NUMBA_NUM_THREADS


def num_threads() -> int:
    """Threads fastconv uses for its parallel work and as the FFTs' ``workers``.

    Defaults to the number of CPUs (:func:`max_threads`); :func:`set_num_threads` changes it.

    >>> num_threads() == max_threads()
    True
    """
    return _count


def set_num_threads(n: int) -> int:
    """Run fastconv's parallel work on ``n`` threads; returns the previous count.

    The count is process-wide: the thread pool uses the calling thread plus ``n - 1`` workers,
    the FFTs use ``n`` ``workers``, ``method="auto"`` predicts costs for ``n`` threads (plans
    are cached per count), and with ``n`` below BLAS's own count a matrix product that fastconv
    runs on a single worker is held to ``n`` BLAS threads too. ``numba.set_num_threads`` does
    not change it (fastconv does not use Numba's parallel layer).

    Parameters
    ----------
    n : int
        From 1 to :func:`max_threads` (the CPUs of the machine unless ``NUMBA_NUM_THREADS``
        says fewer).

    Returns
    -------
    int
        The previous count.

    Raises
    ------
    TypeError
        ``n`` is not an integer (bool included).
    ValueError
        ``n`` is below 1 or above :func:`max_threads`.

    Examples
    --------
    >>> import fastconv
    >>> previous = fastconv.set_num_threads(1)
    >>> fastconv.get_num_threads()
    1
    >>> fastconv.set_num_threads(previous)
    1
    >>> fastconv.set_num_threads(0)
    Traceback (most recent call last):
    ...
    ValueError: set_num_threads: expected n >= 1, got n=0
    """
    global _count
    if isinstance(n, bool):  # True is an int to Python, not a count
        raise TypeError(f"set_num_threads: expected n to be an integer, got n={n!r}")
    try:
        value = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads: expected n to be an integer, got n={n!r}") from None
    if value < 1:
        raise ValueError(f"set_num_threads: expected n >= 1, got n={value}")
    limit = max_threads()
    if value > limit:
        raise ValueError(
            f"set_num_threads: expected n <= {limit} (the CPUs fastconv may use), got n={value}"
        )
    previous, _count = _count, value
    return previous


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


def _blas_threads() -> int:
    """The most threads any loaded BLAS library uses now (0 if none is loaded)."""
    libs = _blas_controller().select(user_api="blas").lib_controllers
    return max((lib.num_threads for lib in libs), default=0)


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
    is held to one thread meanwhile; a single worker leaves BLAS its own threads, at most
    ``num_threads()`` of them (the cap is set only where BLAS would use more). The first
    exception raised by a task is re-raised here after every worker has finished (a worker
    stops at its first exception). ``threads`` caps the workers (default: ``num_threads()``).
    """
    threads = min(num_threads() if threads is None else threads, len(tasks))
    if threads <= 1 or getattr(_local, "in_task", False):
        cap = nullcontext()
        lowered = _count < numba.config.NUMBA_NUM_THREADS  # only then can BLAS use more
        if blas and lowered and not getattr(_local, "in_task", False) and _count < _blas_threads():
            cap = _blas_controller().limit(limits=_count, user_api="blas")
        with cap:
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

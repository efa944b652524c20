"""fastconv's thread pool: concurrent callers, nested calls, errors, fork, BLAS limits."""

from __future__ import annotations

import multiprocessing
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import fastconv
from fastconv._threads import run_tasks


def blas_threads() -> list[int]:
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


@pytest.fixture
def always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastconv.algorithms import direct, gemm

    monkeypatch.setattr(direct, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(gemm, "PARALLEL_MIN_MACS", 0)


@pytest.mark.parametrize("method", ["direct", "gemm"])
def test_concurrent_callers_get_correct_results_and_blas_is_restored(
    always_parallel, method: str
) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 20, 20)).astype(np.float32)
    w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    expected = fastconv.conv2d(x, w, method=method)
    before = blas_threads()
    failures: list[str] = []

    def caller() -> None:
        for _ in range(15):
            if not np.array_equal(fastconv.conv2d(x, w, method=method), expected):
                failures.append("mismatch")

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert blas_threads() == before


def test_nested_calls_run_serially_and_completely() -> None:
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def outer(i: int, worker: int) -> None:
        def inner(j: int, w: int) -> None:
            with lock:
                seen.append((i, j))

        run_tasks(inner, range(3), threads=2)

    run_tasks(outer, range(4), threads=2)
    assert sorted(seen) == [(i, j) for i in range(4) for j in range(3)]


def test_task_errors_reach_the_caller() -> None:
    seen: list[int] = []

    def task(i: int, worker: int) -> None:
        seen.append(i)
        if i == 3:
            raise ZeroDivisionError("task 3")

    with pytest.raises(ZeroDivisionError, match="task 3"):
        run_tasks(task, range(6), threads=2)
    assert {0, 2, 4} <= set(seen)  # the calling thread's tasks all ran
    seen.clear()
    run_tasks(lambda i, w: seen.append(i), range(4), threads=2)  # the pool still works
    assert sorted(seen) == [0, 1, 2, 3]


def _child(queue: multiprocessing.Queue) -> None:
    from fastconv.algorithms import direct

    direct.PARALLEL_MIN_MACS = 0
    out = fastconv.conv2d(np.ones((1, 1, 64, 64)), np.ones((1, 1, 3, 3)))
    queue.put(float(out.sum()))


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_pool_works_in_a_forked_child(always_parallel) -> None:
    fastconv.conv2d(np.ones((1, 1, 64, 64)), np.ones((1, 1, 3, 3)))  # start the workers
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue,))
    child.start()
    child.join(120)
    if child.is_alive():  # pragma: no cover - the bug this test guards against
        child.kill()
        pytest.fail("the forked child hung in fastconv's thread pool")
    assert child.exitcode == 0
    assert queue.get(timeout=10) == 9.0 * 62 * 62


def test_workspace_limit_block_is_local_to_its_thread() -> None:
    seen: list[int] = []
    inside = threading.Event()
    release = threading.Event()

    def other() -> None:
        inside.wait(10)
        seen.append(fastconv.get_workspace_limit())
        release.set()

    t = threading.Thread(target=other)
    t.start()
    with fastconv.workspace_limit(4096):
        inside.set()
        release.wait(10)
        assert fastconv.get_workspace_limit() == 4096
    t.join()
    assert seen == [fastconv.get_workspace_limit()] and seen[0] != 4096


# --------------------------------------------------------------------------------------------
# fastconv.set_num_threads


@pytest.fixture
def restore_threads():
    previous = fastconv.get_num_threads()
    yield
    fastconv.set_num_threads(previous)


def test_num_threads_defaults_to_the_cpus_and_is_not_numbas_setting(restore_threads) -> None:
    import numba

    from fastconv._threads import max_threads

    assert 1 <= fastconv.get_num_threads() <= max_threads()
    assert fastconv.set_num_threads(1) == max_threads()  # the default, returned as previous
    assert fastconv.get_num_threads() == 1
    assert numba.get_num_threads() == max_threads()  # Numba's own setting is left alone


@pytest.mark.parametrize(
    ("value", "exc", "message"),
    [
        (0, ValueError, r"^set_num_threads: expected n >= 1, got n=0$"),
        (-2, ValueError, r"^set_num_threads: expected n >= 1, got n=-2$"),
        (10**6, ValueError, r"^set_num_threads: expected n <= \d+ \(the CPUs fastconv may use\)"),
        (1.0, TypeError, r"^set_num_threads: expected n to be an integer, got n=1\.0$"),
        (True, TypeError, r"^set_num_threads: expected n to be an integer, got n=True$"),
        ("2", TypeError, r"^set_num_threads: expected n to be an integer, got n='2'$"),
    ],
)
def test_set_num_threads_refuses_bad_values(restore_threads, value, exc, message) -> None:
    before = fastconv.get_num_threads()
    with pytest.raises(exc, match=message):
        fastconv.set_num_threads(value)
    assert fastconv.get_num_threads() == before
    fastconv.set_num_threads(np.int64(1))  # NumPy integers are integers
    assert fastconv.get_num_threads() == 1


def test_set_num_threads_controls_the_pool(restore_threads) -> None:
    from fastconv._threads import max_threads

    def threads_used(count: int) -> set[int]:
        fastconv.set_num_threads(count)
        seen: set[int] = set()
        run_tasks(lambda i, w: seen.add(threading.get_ident()), range(8))
        return seen

    assert len(threads_used(1)) == 1
    if max_threads() >= 2:
        assert len(threads_used(2)) == 2


def test_set_num_threads_controls_the_fft_workers(restore_threads, monkeypatch) -> None:
    from scipy import fft

    workers: list[int | None] = []
    real = fft.rfftn

    def spy(*args, **kwargs):
        workers.append(kwargs.get("workers"))
        return real(*args, **kwargs)

    monkeypatch.setattr(fft, "rfftn", spy)
    x, w = np.ones((1, 2, 16, 16)), np.ones((3, 2, 5, 5))
    fastconv.set_num_threads(1)
    fastconv.conv2d(x, w, method="fft")
    assert workers and set(workers) == {1}


def test_one_thread_holds_blas_to_one_thread_too(restore_threads) -> None:
    before = blas_threads()
    if max(before, default=1) < 2:
        pytest.skip("BLAS runs on one thread anyway")
    seen: list[list[int]] = []
    fastconv.set_num_threads(1)
    run_tasks(lambda i, w: seen.append(blas_threads()), range(2), blas=True)
    assert seen == [[1] * len(before)] * 2
    assert blas_threads() == before  # restored afterwards


@pytest.mark.parametrize("method", ["direct", "gemm", "winograd", "fft"])
def test_results_are_identical_with_one_and_two_threads(
    restore_threads, always_parallel, method: str
) -> None:
    from fastconv._threads import max_threads

    if max_threads() < 2:
        pytest.skip("one CPU")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 19, 21)).astype(np.float32)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    fastconv.set_num_threads(1)
    one = fastconv.conv2d(x, w, padding=1, method=method)
    fastconv.set_num_threads(2)
    two = fastconv.conv2d(x, w, padding=1, method=method)
    assert np.array_equal(one, two)


def test_plans_are_cached_per_thread_count(restore_threads) -> None:
    from fastconv._threads import max_threads

    if max_threads() < 2:
        pytest.skip("one CPU")
    x = np.zeros((8, 64, 56, 56), np.float32)
    w = np.zeros((64, 64, 3, 3), np.float32)
    fastconv.set_num_threads(2)
    two = dict(fastconv.plan(x, w, padding=1).candidates)
    fastconv.set_num_threads(1)
    one = dict(fastconv.plan(x, w, padding=1).candidates)
    assert one["winograd"] > two["winograd"]  # its transforms are predicted on fewer threads

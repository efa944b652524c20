"""fastconv.dask: the same calls on Dask arrays, equal to the in-memory results.

Equality tests run on Dask's synchronous scheduler (small arrays, uneven chunks, kernels larger
than a chunk); the cluster tests share one ``LocalCluster`` of two single-thread worker
processes on the loopback interface: equality there, a worker killed in the middle of a
computation, and a Zarr-to-Zarr run over an array larger than the workers' memory limits.
``pytest -m dask`` runs this module alone.
"""

from __future__ import annotations

import os
import signal as signals
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import fastconv
from fastconv import kernels

da = pytest.importorskip("dask.array")
fd = pytest.importorskip("fastconv.dask")

from support import RELATIVE_TOLERANCE, assert_close  # noqa: E402

pytestmark = pytest.mark.dask

BORDERS = ["reflect", "mirror", "nearest", "wrap", "constant"]
PADDING_MODES = ["zeros", "reflect", "replicate", "circular", "symmetric"]
SYNC = {"scheduler": "synchronous"}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def same(result, expected, dtype=None) -> None:
    """Shapes and dtypes equal; values within the per-dtype tolerance (exact for integers)."""
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype
    if expected.dtype.kind in "iub":
        np.testing.assert_array_equal(result, expected)
    elif expected.dtype.kind == "c":
        scale = np.abs(expected).max()
        assert np.abs(result - expected).max() <= RELATIVE_TOLERANCE[np.dtype(np.float64)] * scale
    else:
        tol_dtype = dtype or (np.float32 if expected.dtype.itemsize <= 4 else np.float64)
        assert_close(result, expected, tol_dtype)


# --------------------------------------------------------------------------------------------
# filter_image: every border mode, even and odd kernels, kernels larger than a chunk (and than
# the image), strides 2 and 3, uneven chunks


IMAGE = rng(1).standard_normal((23, 17)).astype(np.float32)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", [(3, 3), (4, 2), (2, 5), (11, 9), (30, 40)])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_filter_image_equals_in_memory(border, kshape, stride):
    kernel = rng(2).standard_normal(kshape)
    expected = fastconv.filter_image(IMAGE, kernel, border=border, cval=1.5, stride=stride)
    image = da.from_array(IMAGE, chunks=((5, 7, 6, 5), (4, 9, 4)))  # uneven, smaller than k
    result = fd.filter_image(image, kernel, border=border, cval=1.5, stride=stride)
    assert isinstance(result, da.Array)
    same(result.compute(**SYNC), expected)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_filter_image_separable_two_passes(border, stride, dtype):
    image = (rng(3).random((40, 33)) * 255).astype(dtype)
    kernel = kernels.gaussian(9, 2.0)
    lazy = fd.filter_image(da.from_array(image, chunks=(6, 7)), kernel, border=border, cval=3,
                           stride=stride)  # fmt: skip
    names = [name for name in lazy.dask.layers if name.startswith("fastconv-")]
    assert any("-rows-" in n for n in names) and any("-cols-" in n for n in names), names
    assert _block_functions(lazy) == ["_FilterBlock", "_FilterBlock"]
    expected = fastconv.filter_image(image, kernel, border=border, cval=3, stride=stride)
    result = lazy.compute(**SYNC)
    same(result, expected)
    np.testing.assert_array_equal(result, expected)  # bit for bit


def test_filter_image_valid_mode_colour_alpha_and_channel_axis():
    rgba = (rng(4).random((30, 26, 4)) * 255).astype(np.uint8)
    k = rng(5).standard_normal((4, 3))
    for kwargs in [
        {"mode": "valid"},
        {"stride": (2, 3)},
        {"filter_alpha": True, "border": "wrap"},
        {"output": np.float32, "border": "nearest"},
    ]:
        lazy = fd.filter_image(da.from_array(rgba, chunks=(7, 8, 2)), k, **kwargs)
        same(lazy.compute(**SYNC), fastconv.filter_image(rgba, k, **kwargs))
    planar = np.moveaxis(rgba[..., :3], -1, 0).copy()
    lazy = fd.filter_image(
        da.from_array(planar, chunks=(1, 9, 9)), kernels.gaussian(5), channel_axis=0
    )
    same(lazy.compute(**SYNC), fastconv.filter_image(planar, kernels.gaussian(5), channel_axis=0))


def test_filter_image_fft_path_for_large_kernels():
    from fastconv.image import plan_filter

    image = rng(6).standard_normal((150, 140))
    kernel = rng(7).standard_normal((41, 37))
    lazy = fd.filter_image(da.from_array(image, chunks=(64, 60)), kernel, border="mirror")
    assert [fn.method for fn in _block_functions(lazy, objects=True)] == ["auto"]
    region = image[: 64 + 40, : 60 + 36]  # a block's region: the in-memory rule takes the FFT
    assert plan_filter(region, kernel, mode="valid").method == "fft"
    same(lazy.compute(**SYNC), fastconv.filter_image(image, kernel, border="mirror"))
    forced = fd.filter_image(da.from_array(image, chunks=50), kernels.box(3), method="fft")
    same(forced.compute(**SYNC), fastconv.filter_image(image, kernels.box(3)))


def _block_functions(lazy, objects: bool = False) -> list:
    """The functions computing the blocks of ``lazy`` (one per pass), or their type names."""
    found = []
    for key in lazy.dask:
        if isinstance(key, str) and "-fn-" in key:
            value = lazy.dask[key]
            fn = getattr(value, "value", value)
            found.append(fn if objects else type(fn).__name__)
    return found


def test_kernel_larger_than_the_image_wraps_and_reflects_past_one_period():
    image = rng(8).standard_normal((7, 5))
    kernel = rng(9).standard_normal((19, 16))
    for border in BORDERS:
        lazy = fd.filter_image(da.from_array(image, chunks=(2, 3)), kernel, border=border)
        same(lazy.compute(**SYNC), fastconv.filter_image(image, kernel, border=border))


# --------------------------------------------------------------------------------------------
# conv1d / conv2d / conv3d: padding modes, stride, dilation, groups, 2-D and 3-D


X4 = rng(10).standard_normal((2, 4, 13, 11))


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
@pytest.mark.parametrize(
    ("kshape", "stride", "padding", "dilation", "groups"),
    [
        ((3, 3), 1, 1, 1, 1),
        ((4, 2), 1, "same", 1, 2),  # even kernel: asymmetric padding
        ((3, 3), 2, "same", 1, 1),
        ((2, 5), 3, ((2, 1), (0, 3)), 1, 4),
        ((3, 3), 2, 2, 2, 1),  # dilation
        ((5, 4), 3, 0, 1, 2),
    ],
)
def test_conv2d_equals_in_memory(padding_mode, kshape, stride, padding, dilation, groups):
    w = rng(11).standard_normal((8, 4 // groups, *kshape))
    b = rng(12).standard_normal(8)
    args = (w, b, stride, padding, dilation, groups)
    expected = fastconv.conv2d(X4, *args, padding_mode=padding_mode)
    x = da.from_array(X4, chunks=(1, 2, (4, 5, 4), (3, 5, 3)))
    result = fd.conv2d(x, *args, padding_mode=padding_mode)
    assert result.chunks[1] == (8,)
    same(result.compute(**SYNC), expected)


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
def test_conv3d_and_conv1d_equal_in_memory(padding_mode):
    v = rng(13).standard_normal((1, 2, 9, 8, 7)).astype(np.float32)
    w = rng(14).standard_normal((3, 2, 3, 2, 4)).astype(np.float32)
    for stride, dilation in [(1, 1), (2, 1), ((3, 1, 2), (1, 2, 1))]:
        expected = fastconv.conv3d(v, w, None, stride, "same", dilation, padding_mode=padding_mode)
        lazy = fd.conv3d(da.from_array(v, chunks=(1, 1, 3, 4, 2)), w, None, stride, "same",
                         dilation, padding_mode=padding_mode)  # fmt: skip
        same(lazy.compute(**SYNC), expected)
    s = rng(15).standard_normal((2, 30))  # unbatched 1-D
    w1 = rng(16).standard_normal((3, 2, 4))
    expected = fastconv.conv1d(s, w1, padding=3, stride=2, padding_mode=padding_mode)
    lazy = fd.conv1d(da.from_array(s, chunks=(2, 7)), w1, padding=3, stride=2,
                     padding_mode=padding_mode)  # fmt: skip
    same(lazy.compute(**SYNC), expected)


# --------------------------------------------------------------------------------------------
# correlate / convolve / correlate2d / convolve2d


A = rng(17).standard_normal((20, 17))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("kshape", [(3, 3), (4, 6), (1, 5), (9, 12)])
@pytest.mark.parametrize(("stride", "dilation"), [(1, 1), (2, 1), (3, 2)])
def test_correlate_convolve_equal_in_memory(mode, kshape, stride, dilation):
    k = rng(18).standard_normal(kshape)
    x = da.from_array(A, chunks=(6, 5))
    if mode == "valid" and any(dilation * (n - 1) + 1 > m for n, m in zip(kshape, A.shape)):
        pytest.skip("the dilated kernel does not fit: SciPy's swap rule, refused on Dask")
    for name in ("correlate", "convolve"):
        expected = getattr(fastconv, name)(A, k, mode, stride=stride, dilation=dilation)
        result = getattr(fd, name)(x, k, mode, stride=stride, dilation=dilation)
        same(result.compute(**SYNC), expected)
    for name in ("correlate2d", "convolve2d"):
        for boundary in ("fill", "wrap", "symm"):
            expected = getattr(fastconv, name)(A, k, mode, boundary, 0.5, stride=stride,
                                               dilation=dilation)  # fmt: skip
            result = getattr(fd, name)(x, k, mode, boundary, 0.5, stride=stride,
                                       dilation=dilation)  # fmt: skip
            same(result.compute(**SYNC), expected)


def test_correlate_integers_complex_axes_and_large_kernels():
    ai = rng(19).integers(0, 100, (15, 12))
    ki = rng(20).integers(-3, 3, (3, 4))
    x = da.from_array(ai, chunks=4)
    same(fd.correlate(x, ki, "same").compute(**SYNC), fastconv.correlate(ai, ki, "same"))
    same(fd.convolve2d(x, ki, "full", "symm").compute(**SYNC),
         fastconv.convolve2d(ai, ki, "full", "symm"))  # fmt: skip
    c = rng(21).standard_normal((12, 10)) + 1j * rng(22).standard_normal((12, 10))
    kc = np.array([[1 + 2j, 0.5], [0, -1j]])
    same(fd.correlate(da.from_array(c, chunks=5), kc, "same").compute(**SYNC),
         fastconv.correlate(c, kc, "same"), np.float64)  # fmt: skip
    b = rng(23).standard_normal((3, 400))
    k = rng(24).standard_normal((1, 120))  # along axis 1 only; large: FFT per block
    lazy = fd.convolve(da.from_array(b, chunks=(1, 90)), k, "same", axes=1)
    same(lazy.compute(**SYNC), fastconv.convolve(b, k, "same", axes=1))


# --------------------------------------------------------------------------------------------
# geometry of the graph


def test_stride_chunks_and_output_chunks():
    assert fd.stride_chunks((5, 5, 5), 2) == (6, 4, 5)
    assert fd.stride_chunks((5, 5, 5), 3) == (6, 3, 6)
    image = da.zeros((15, 15), chunks=5)
    out = fd.filter_image(image, np.ones((3, 3)), stride=3)
    assert out.chunks == ((2, 1, 2), (2, 1, 2))  # input (6, 3, 6) divided by 3
    x = da.zeros((1, 1, 15, 16), chunks=(1, 1, 5, 4))
    assert fd.conv2d(x, np.ones((1, 1, 3, 3)), stride=2).chunks[2:] == ((3, 2, 2), (2, 2, 2, 1))


def test_halo_from_the_shape_rules_and_blocks_read_only_their_neighbours():
    from fastconv._shapes import halo, input_span

    assert halo(4, 1, 2) == (2, 1)  # even kernel, ndimage's centre: asymmetric
    assert halo(3, 3, 3) == (3, 3)  # dilation 3 spans 7
    assert input_span(1, 3, 3, 2, 1, 1) == (1, 6)
    x = da.zeros((40, 40), chunks=10)
    k = rng(25).standard_normal((3, 4))  # not of rank 1: one pass, halo (1, 1) x (2, 1)
    out = fd.filter_image(x, k, border="constant")
    graph = dict(out.__dask_graph__())
    assert _chunks_read(graph, (out.name, 1, 1), x.name) == {
        (a, b) for a in (0, 1, 2) for b in (0, 1, 2)
    }  # its 3x3 neighbourhood
    # the constant border needs no chunk beyond the array; wrap reads the far side
    assert _chunks_read(graph, (out.name, 0, 0), x.name) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    wrap = fd.filter_image(x, k, border="wrap")
    assert _chunks_read(dict(wrap.__dask_graph__()), (wrap.name, 0, 0), x.name) == {
        (a, b) for a in (3, 0, 1) for b in (3, 0, 1)
    }


def _chunks_read(graph, key, name) -> set[tuple[int, ...]]:
    """Block indices of the chunks of ``name`` that computing ``key`` reads."""
    from dask.core import get_dependencies

    found, todo = set(), [key]
    while todo:
        for dep in get_dependencies(graph, todo.pop()):
            if isinstance(dep, tuple) and dep[0] == name:
                found.add(dep[1:])
            else:
                todo.append(dep)
    return found


def test_building_the_graph_reads_nothing():
    import dask

    def boom():
        raise AssertionError("computed while building the graph")

    lazy_input = da.from_delayed(dask.delayed(boom)(), shape=(50, 40), dtype=np.float32)
    out = fastconv.filter_image(lazy_input, kernels.gaussian(5), border="wrap")
    assert out.shape == (50, 40) and out.dtype == np.float32
    assert fastconv.conv2d(lazy_input[None, None], np.ones((2, 1, 3, 3)), stride=2).shape == (
        1, 2, 24, 19)  # fmt: skip
    assert fastconv.correlate(lazy_input, np.ones((3, 3)), "full").shape == (52, 42)
    plan = fastconv.plan(lazy_input[None, None], np.ones((1, 1, 3, 3)))
    assert plan.output_shape == (1, 1, 48, 38)


# --------------------------------------------------------------------------------------------
# the in-memory functions: dispatch, refusal, errors, optional import


def test_public_functions_dispatch_dask_inputs():
    x = da.from_array(A, chunks=7)
    k = np.ones((3, 3)) / 9
    for lazy, eager in [
        (fastconv.filter_image(x, k), fastconv.filter_image(A, k)),
        (fastconv.conv2d(x[None], k[None, None]), fastconv.conv2d(A[None], k[None, None])),
        (fastconv.correlate(x, k), fastconv.correlate(A, k)),
        (fastconv.convolve2d(x, k, "same", "wrap"), fastconv.convolve2d(A, k, "same", "wrap")),
        (fastconv.filter_image(A, da.from_array(k)), fastconv.filter_image(A, k)),
    ]:
        assert isinstance(lazy, da.Array)
        same(lazy.compute(**SYNC), eager)


def test_functions_without_a_dask_path_refuse_dask_arrays():
    x = da.ones((8, 8), chunks=4)
    calls = [
        lambda: fastconv.fftconvolve(x, np.ones((2, 2))),
        lambda: fastconv.conv_transpose2d(x[None], np.ones((1, 1, 2, 2))),
        lambda: fastconv.conv2d_backward(
            x[None, None], np.ones((1, 1, 9, 9)), np.ones((1, 1, 2, 2))
        ),
        lambda: fastconv.choose_conv_method(x, np.ones((2, 2))),
        lambda: fastconv.explain(x, np.ones((2, 2))),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=r"got a Dask array .*call \.compute\(\) first"):
            call()


def test_errors_name_the_parameter_as_in_memory():
    x = da.ones((8, 8), chunks=4)
    with pytest.raises(ValueError, match="filter_image: expected border to be one of"):
        fd.filter_image(x, np.ones((3, 3)), border="edge")
    with pytest.raises(TypeError, match="filter_image: expected output to be None or a dtype"):
        fd.filter_image(x, np.ones((3, 3)), output=np.empty((8, 8)))
    with pytest.raises(ValueError, match=r"conv2d: given groups=2, expected weight\.shape"):
        fd.conv2d(x[None, None], np.ones((3, 1, 3, 3)), groups=2)
    with pytest.raises(ValueError, match="conv2d: expected weight with 4 dimensions"):
        fastconv.conv2d(x[None, None], np.ones((3, 3)))
    with pytest.raises(ValueError, match="correlate: expected mode to be 'full', 'same'"):
        fd.correlate(x, np.ones((2, 2)), "middle")
    with pytest.raises(ValueError, match="expected in1 at least as large as the"):
        fd.correlate(x, np.ones((9, 9)), "valid")
    with pytest.raises(ValueError, match="expected in2 to have size 1 along the axes"):
        fd.correlate(x, np.ones((8, 2)), axes=1)


def test_import_fastconv_does_not_import_dask():
    code = (
        "import sys, numpy as np, fastconv\n"
        "fastconv.filter_image(np.ones((4, 4)), np.ones((3, 3)))\n"
        "fastconv.correlate(np.ones(3), np.ones(2))\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'zarr')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------
# on a cluster: two single-thread worker processes on the loopback interface

MEMORY_LIMIT = 400 * 2**20


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        memory_limit=MEMORY_LIMIT,
        silence_logs=40,
    )
    c = distributed.Client(cluster)
    c.run(_warm_up)
    yield c
    c.close()
    cluster.close()


def _warm_up() -> None:
    """Load the compiled kernels once per worker (Numba's on-disk cache)."""
    image = np.ones((32, 32), np.float32)
    fastconv.filter_image(image, np.ones((3, 3), np.float32) / 9)
    fastconv.filter_image(image, rng().standard_normal((5, 5)).astype(np.float32))


def test_equal_on_a_cluster(client):
    image = rng(30).standard_normal((300, 260)).astype(np.float32)
    k = rng(31).standard_normal((6, 5)).astype(np.float32)
    x = da.from_array(image, chunks=(64, 70))
    for border in BORDERS:
        lazy = fd.filter_image(x, k, border=border, stride=2)
        same(
            client.compute(lazy).result(), fastconv.filter_image(image, k, border=border, stride=2)
        )
    vol = rng(32).standard_normal((2, 3, 20, 18, 16)).astype(np.float32)
    w = rng(33).standard_normal((4, 3, 3, 3, 3)).astype(np.float32)
    lazy = fd.conv3d(da.from_array(vol, chunks=(1, 3, 7, 9, 8)), w, stride=2, padding=1,
                     dilation=(1, 2, 1), padding_mode="circular")  # fmt: skip
    expected = fastconv.conv3d(vol, w, stride=2, padding=1, dilation=(1, 2, 1),
                               padding_mode="circular")  # fmt: skip
    same(client.compute(lazy).result(), expected)


def _slow(block: np.ndarray) -> np.ndarray:
    time.sleep(0.04)
    return block


def test_worker_killed_mid_computation_result_complete_and_equal(client, capsys):
    image = rng(40).standard_normal((640, 640))
    kernel = rng(41).standard_normal((7, 7))
    lazy = fd.filter_image(da.from_array(image, chunks=80), kernel, border="wrap").map_blocks(_slow)
    expected = fastconv.filter_image(image, kernel, border="wrap")
    blocks = lazy.numblocks[0] * lazy.numblocks[1]

    def finished(dask_scheduler=None) -> int:
        prefix = lazy.name
        tasks = dask_scheduler.tasks.values()
        return sum(isinstance(t.key, tuple) and t.key[0] == prefix and t.state == "memory"
                   for t in tasks)  # fmt: skip

    before = dict(client.run(os.getpid))
    future = client.compute(lazy)
    deadline = time.monotonic() + 60
    while client.run_on_scheduler(finished) < blocks // 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    done_at_kill = client.run_on_scheduler(finished)
    victim, pid = sorted(before.items())[0]
    os.kill(pid, signals.SIGKILL)
    result = future.result(timeout=120)
    client.wait_for_workers(2, timeout=60)
    after = dict(client.run(os.getpid))
    from support import relative_error

    error = relative_error(result, expected)
    equal = result.shape == expected.shape and error <= RELATIVE_TOLERANCE[np.dtype(np.float64)]
    lines = [
        f"worker-kill: {blocks} output blocks of {lazy.shape} ({lazy.chunksize} chunks), "
        f"wrap border, 7x7 kernel",
        f"worker-kill: killed worker {victim} (pid {pid}, SIGKILL) with {done_at_kill}/{blocks} "
        "blocks finished",
        f"worker-kill: workers now {sorted(after)} (pids {sorted(after.values())}); the nanny "
        f"restarted the killed one: {pid not in after.values()}",
        f"worker-kill: result complete {result.shape == expected.shape}, equal to the "
        f"in-memory result: {equal} (max |difference| / max |result| = {error:.1e}; "
        f"{np.mean(result == expected):.1%} bit for bit)",
    ]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert 0 < done_at_kill < blocks
    assert pid not in after.values()
    assert equal


def _start_rss_sampler() -> None:
    import psutil

    def sample(state=_RSS) -> None:
        proc = psutil.Process()
        while not state.get("stop"):
            state["peak"] = max(state.get("peak", 0), proc.memory_info().rss)
            time.sleep(0.005)

    _RSS.clear()
    threading.Thread(target=sample, daemon=True).start()


_RSS: dict = {}


def _stop_rss_sampler() -> int:
    _RSS["stop"] = True
    time.sleep(0.02)
    return _RSS.get("peak", 0)


def test_zarr_to_zarr_larger_than_the_memory_limit_stays_under_it(client, tmp_path, capsys):
    zarr = pytest.importorskip("zarr")
    n, chunk = 15360, 1024  # float32: 900 MiB, more than both workers' limits together
    nbytes = n * n * 4
    assert nbytes > 2 * MEMORY_LIMIT
    source, target = str(tmp_path / "in.zarr"), str(tmp_path / "out.zarr")
    noise = da.random.default_rng(0).random((n, n), chunks=chunk, dtype=np.float32)
    raw = {"compressors": None}  # the memory, not the codec, is under test
    client.compute(noise.to_zarr(source, compute=False, **raw)).result()

    client.run(_start_rss_sampler)
    start = time.perf_counter()
    lazy = fd.filter_image(da.from_zarr(source), kernels.gaussian(5, 1.0).astype(np.float32),
                           border="reflect")  # fmt: skip
    client.compute(lazy.to_zarr(target, compute=False, **raw)).result()
    seconds = time.perf_counter() - start
    peaks = client.run(_stop_rss_sampler)

    out = zarr.open_array(target, mode="r")
    inp = zarr.open_array(source, mode="r")
    k = kernels.gaussian(5, 1.0).astype(np.float32)
    top = fastconv.filter_image(inp[:40], k)[:36]  # rows near the edges, whole width
    bottom = fastconv.filter_image(inp[-40:], k)[4:]
    same(out[:36], top)
    same(out[-36:], bottom)
    peak = max(peaks.values())
    with capsys.disabled():
        print(
            f"\nmemory: {nbytes / 2**20:.0f} MiB float32 Zarr -> Zarr ({chunk}x{chunk} chunks), "
            f"2 workers with memory_limit {MEMORY_LIMIT / 2**20:.0f} MiB each: peak worker RSS "
            + ", ".join(f"{p / 2**20:.0f} MiB" for p in sorted(peaks.values()))
            + f" ({seconds:.1f} s, {nbytes / 2**20 / seconds:.0f} MiB/s)"
        )
    assert peak < MEMORY_LIMIT


# --------------------------------------------------------------------------------------------
# fastconv apply on Zarr stores and TIFF files


_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(fastconv.__path__[0]), os.environ.get("PYTHONPATH", "")]
    ),
}


def _apply(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fastconv", "apply", *args], capture_output=True,
                          text=True, timeout=timeout, env=_ENV)  # fmt: skip


def _zarr_image(path, image, chunks):
    zarr = pytest.importorskip("zarr")
    z = zarr.create_array(str(path), shape=image.shape, chunks=chunks, dtype=image.dtype)
    z[...] = image
    return path


def test_apply_zarr_to_zarr_streams_on_local_threads(tmp_path):
    zarr = pytest.importorskip("zarr")
    image = (rng(50).random((300, 250)) * 60000).astype(np.uint16)
    src = _zarr_image(tmp_path / "in.zarr", image, (64, 64))
    out = tmp_path / "out.zarr"
    done = _apply(str(src), "-k", "gaussian:7,1.5", "-o", str(out), "--chunks", "100,90",
                  "--stride", "2", "--border", "wrap")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "read   " in done.stdout and "(Zarr, 9 blocks of 100×90)" in done.stdout
    assert "on Dask's local threads" in done.stdout and "wrote  " in done.stdout
    expected = fastconv.filter_image(image, kernels.gaussian(7, 1.5), stride=2, border="wrap")
    same(zarr.open_array(str(out), mode="r")[...], expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.zarr", "out.zarr"]


def test_apply_tiff_to_tiff_on_an_existing_scheduler_with_a_progress_bar(client, tmp_path):
    tifffile = pytest.importorskip("tifffile")
    rgb = (rng(51).random((333, 290, 3)) * 255).astype(np.uint8)
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, rgb, tile=(64, 64), photometric="rgb")
    out = tmp_path / "out.tif"
    address = client.scheduler.address
    done = _apply(str(src), "-k", "1 2 0; -1 3 1; 0 0 2", "-o", str(out), "--scheduler", address,
                  "--chunks", "128", "--progress")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"on the scheduler at {address} (2 workers)" in done.stdout
    assert "100%" in done.stderr and "band" in done.stderr
    kernel = kernels.parse("1 2 0; -1 3 1; 0 0 2")
    same(tifffile.imread(out), fastconv.filter_image(rgb, kernel))
    with tifffile.TiffFile(out) as tif:
        assert tif.pages[0].is_tiled and tif.pages[0].photometric == 2  # RGB, tiled


def test_apply_with_a_local_cluster_of_workers(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    image = rng(52).standard_normal((260, 300)).astype(np.float32)
    src = _zarr_image(tmp_path / "in.zarr", image, (100, 100))
    out = tmp_path / "edges.tif"
    done = _apply(str(src), "-k", "sobel-x", "-o", str(out), "--workers", "2", "--mode", "valid")
    assert done.returncode == 0, done.stderr
    assert "on a local cluster of 2 worker processes" in done.stdout
    same(tifffile.imread(out), fastconv.filter_image(image, kernels.sobel_x(), mode="valid"))


def test_apply_streaming_errors_are_one_line(tmp_path):
    image = np.zeros((40, 30), np.float32)
    src = _zarr_image(tmp_path / "in.zarr", image, (20, 20))
    (tmp_path / "taken.zarr").mkdir()
    cases = [
        (["-o", str(tmp_path / "taken.zarr")], 2, "exists; pass --overwrite to replace it"),
        (
            ["-o", str(tmp_path / "o.zarr"), "--workers", "2", "--scheduler", "tcp://x:1"],
            2,
            "--workers and --scheduler: expected one of them, got both",
        ),
        (["-o", str(tmp_path / "o.zarr"), "--chunks", "0"], 2, "--chunks: expected N or NY,NX"),
        (["-o", str(tmp_path / "o.png")], 2, "expected a Zarr store (.zarr) or a TIFF file"),
        (["-o", str(src), "--overwrite"], 2, "refusing to write onto the input"),
        (["-o", str(tmp_path / "o.zarr"), "--border", "edge"], 2, "invalid choice"),
    ]
    for extra, status, message in cases:
        done = _apply(str(src), "-k", "box:3", *extra)
        assert done.returncode == status, (extra, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
    zarr = pytest.importorskip("zarr")
    group = zarr.open_group(str(tmp_path / "group.zarr"), mode="w")
    group.create_array("image", shape=(4, 4), dtype="f4")
    done = _apply(str(tmp_path / "group.zarr"), "-k", "box:3", "-o", str(tmp_path / "g.zarr"))
    assert done.returncode == 1 and "expected a Zarr array, got a group" in done.stderr
    assert "arrays: image" in done.stderr


def test_apply_interrupted_leaves_nothing_under_the_final_name(tmp_path):
    image = rng(53).standard_normal((2048, 2048)).astype(np.float32)
    src = _zarr_image(tmp_path / "in.zarr", image, (128, 128))
    out = tmp_path / "out.zarr"
    args = [sys.executable, "-m", "fastconv", "apply", str(src), "-k", "gaussian:41,8", "-o",
            str(out), "--method", "direct", "--chunks", "256"]  # fmt: skip
    for sig in (signals.SIGKILL, signals.SIGINT):
        before = set(os.listdir(tmp_path))
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_ENV)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            started = [
                n for n in set(os.listdir(tmp_path)) - before if n.startswith("out.zarr.tmp-")
            ]
            if started and (tmp_path / started[0] / "zarr.json").exists():
                break  # the blocks are being computed and written
            time.sleep(0.01)
        time.sleep(0.3)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert not out.exists()  # never a half-written output under the final name
        left = set(os.listdir(tmp_path)) - before
        if sig == signals.SIGINT:  # cleaned up on the way out
            assert left == set() and b"interrupted; nothing written" in err, (left, err)
        else:  # killed outright: only the temporary store, under its own name, remains
            assert all(n.startswith("out.zarr.tmp-") for n in left) and left
    done = _apply(str(src), "-k", "box:3", "-o", str(out))
    assert done.returncode == 0 and out.is_dir()
    stamp = (out / "zarr.json").stat().st_mtime_ns
    done = _apply(str(src), "-k", "box:5", "-o", str(out), "--overwrite")
    assert done.returncode == 0, done.stderr
    assert (out / "zarr.json").stat().st_mtime_ns != stamp
    zarr = pytest.importorskip("zarr")
    same(zarr.open_array(str(out), mode="r")[:50, :50],
         fastconv.filter_image(image[:60, :60], kernels.box(5))[:50, :50])  # fmt: skip


def _fail_on_last_block(block, block_info=None):
    if block_info[0]["chunk-location"] == tuple(n - 1 for n in block_info[0]["num-chunks"]):
        raise RuntimeError("disk full (simulated)")
    return block


@pytest.mark.parametrize("where", ["threads", "cluster"])
@pytest.mark.parametrize("name", ["out.zarr", "out.tif"])
def test_write_image_failing_midway_leaves_no_output_and_no_temporary(tmp_path, name, where,
                                                                      request):  # fmt: skip
    on = request.getfixturevalue("client") if where == "cluster" else False
    image = da.from_array(rng(54).standard_normal((600, 500)).astype(np.float32), chunks=100)
    failing = fd.filter_image(image, kernels.box(3)).map_blocks(_fail_on_last_block, dtype="f4")
    with pytest.raises(RuntimeError, match="disk full"):  # the other blocks are being written
        fd.write_image(failing, tmp_path / name, client=on)
    assert os.listdir(tmp_path) == []
    written = fd.write_image(fd.filter_image(image, kernels.box(3)), tmp_path / name)
    assert os.listdir(tmp_path) == [name] and written.path == tmp_path / name
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        fd.write_image(image, tmp_path / name)
    fd.write_image(image, tmp_path / name, overwrite=True)
    same(fd.read_image(tmp_path / name).compute(**SYNC), image.compute(**SYNC))
    assert os.listdir(tmp_path) == [name]


def test_bench_w11_runs_only_when_named_and_reports_ratios(monkeypatch):
    from fastconv import bench, bench_dask

    calls = []
    monkeypatch.setattr(bench_dask, "main", lambda argv: calls.append(argv) or 0)
    assert bench.main(["--workloads", "W11", "--quick", "--json", "w11.json"]) == 0
    assert calls == [["--quick", "--json", "w11.json"]]
    assert "W11" not in [wl.name for wl in bench.WORKLOADS]  # not in the default run
    runs = [
        bench_dask.Run("fastconv", "gaussian 9x9", 2, [4.0, 5.0, 6.0], [300 * 2**20]),
        bench_dask.Run("dask-image", "gaussian 9x9", 2, [12.0, 15.0], [400 * 2**20]),
        bench_dask.Run("fastconv", "gaussian 9x9", 1, [9.0], [300 * 2**20]),
    ]
    table = bench_dask.format_report(runs, 16384)
    row = next(
        line for line in table.splitlines() if line.startswith("gaussian 9x9") and " 2 " in line
    )
    assert row.split() == ["gaussian", "9x9", "2", "5.00", "215", "13.50", "80", "0.37", "300/400"]

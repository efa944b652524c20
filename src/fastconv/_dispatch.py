"""Algorithm choice: a pure, inspectable function of shapes, geometry and dtype.

The rule of ``method="auto"``: *separable* for rank-1 kernels where it pays, *direct* when
each window feeds few filters, *gemm* otherwise -- and then *winograd* or *fft* instead where
they apply, are accurate enough (correctness rules first: integer inputs stay on the exact
methods; Winograd and FFT only within their error bounds) and the cost model
(:data:`COSTS`, :func:`predict`) expects them to be faster.

- Every output reads one input channel (``C/groups == 1``), one filter per group
  (``O/groups == 1``), two spatial axes, a kernel of at least 2×2 with at least
  ``SEPARABLE_MIN_TAPS`` taps, and every kernel of numerical rank 1: *separable* (a row pass
  and a column pass, ``KH + KW`` instead of ``KH * KW`` multiply-adds per output). The rank
  depends on the weight *values*, so this step is taken per call, after the plan cache (whose
  key is shapes, dtypes and parameters): :func:`separable_candidate` says from the geometry
  whether to look, :func:`with_weights` looks. Where the rule would run *direct*, kernels of
  a low numerical rank ``r > 1`` run as ``r`` pairs of 1-D passes when ``r * (KH + KW)`` is at
  most ``SEPARABLE_RANK_MAX_PERCENT`` % of ``KH * KW``.
- one input channel per group (``groups == C > 1``: depthwise layers, any channel
  multiplier ``O/groups``), one or two spatial axes: *depthwise* (``algorithms.depthwise``:
  per band of output rows a cached workspace and one flat loop per nine taps; on W6 it took
  about half the time of *direct*, see ``DEPTHWISE_MACS_PER_S``).
- ``O/groups == 1`` (single-filter image filtering): *direct*. A matrix
  product with one row is a matrix-vector product; BLAS gains nothing and gemm still pays for
  building the window matrix.
- ``O/groups * C/groups * prod(kernel) < GEMM_MIN_WORK``: *direct*. With few filters per group
  and short windows, building the window matrix costs more than the product saves.
- otherwise *gemm*: the window matrix is built once and reused by every filter of the group,
  and BLAS multiplies at close to the machine's peak.

The thresholds are measured, not guessed; :data:`THRESHOLDS` says where.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ._spec import Geometry
from .algorithms import Method

#: name -> (value, provenance)
THRESHOLDS: dict[str, tuple[int, str]] = {
    "GEMM_MIN_WORK": (
        48,
        "bench/crossover.py on the 2-core AVX-512 dev VM (2026-11-25): N=8, 56x56, 3x3, "
        "padding 1, groups=4, O/groups in {1,2,3,4,6,8} x C/groups in {1,4,16}; gemm won "
        "every point with O/groups * C/groups * 9 >= 54, direct every point <= 36 and every "
        "point with O/groups == 1",
    ),
    "SEPARABLE_MIN_TAPS": (
        9,
        "bench/crossover.py separable on the 2-core AVX-512 dev VM (2026-11-25): one float32 "
        "rank-1 filter, kernels 2x2 to 5x5, padding 'same' and 'valid' and filter_image; "
        "separable won every kernel at 256x256, 512x512 and 1024x1024 (by 20-50 %); at "
        "2048x2048, memory-bound on both threads, direct won 2x2 and 2x3 by 30-80 % and the "
        "two were within 10 % from 3x3 (9 taps) up",
    ),
    "SEPARABLE_RANK_MAX_PERCENT": (
        40,
        "bench/crossover.py rank on the 2-core AVX-512 dev VM (2026-11-25, float32, one "
        "image, 'same' zero padding, algorithms alone, shared machine): kernels of rank 2-4, "
        "5x5 to 15x15; separable won every case with r(KH+KW) <= 40 % of KH*KW at 512x512 "
        "and 2048x2048 (15x15 rank 3 at 2048: 18.3 vs 18.9 ms); above that direct won at "
        "2048x2048 (7x7 rank 2, 57 %: 7.2 vs 6.4 ms) except 9x9 rank 2 (44 %: 8.3 vs 8.9)",
    ),
    "SINGLE_DIRECT_MIN_POSITIONS": (
        16384,
        "bench/single_channel.py on the 2-core AVX-512 dev VM (2026-11-25, float32, medians of "
        "15, 'same' zero padding): one input channel and one filter, direct against the "
        "depthwise kernel and separable for rank-1 kernels. Direct's register tiles (3x3, 5x5) "
        "won from 256x256 (512x512 3x3: 0.081 vs 0.137 ms; 2048x2048 5x5: 2.27 vs 5.28) and "
        "tied at 128x128 (8 images, 3x3: 0.082 vs 0.080); below, depthwise won (8x32x32 5x5: "
        "0.017 vs 0.049 direct, 0.054 separable; 4x64x64 5x5: 0.025 vs 0.051, 0.043). Other "
        "kernels: depthwise beat direct at every size (64x64 11x11: 0.048 vs 0.190; 512x512 "
        "11x11: 0.93 vs 1.26; 1024x1024 7x7: 1.56 vs 2.18), separable beat both from 64x64 "
        "for rank-1 kernels of 11x11 (0.039) and from 256x256 for 5x5",
    ),
    "WEIGHT_DIRECT_MIN_TAPS": (
        81,
        "bench/grad_crossover.py on the 2-core dev VM (2026-11-25, float32, min of 7, two "
        "runs): gemm won every weight gradient with more than one filter per group (by "
        "1.3-12x) and, narrowly, depthwise 8x32x56x56 up to 9x9 (38.6 vs 41.3 ms); the direct "
        "correlation won a single 512x512 image from 7x7 taps on (9x9: 6.1 vs 11.3 and 7.2 vs "
        "15.9 ms; 7x7: 8.7 vs 9.3 and 9.9 vs 24.6; 5x5: gemm). 81 keeps depthwise 7x7 on gemm",
    ),
}
#: name -> (value, provenance): the constants of :func:`predict`, all measured by
#: ``flock /tmp/fastconv-bench.lock python bench/cost_model.py`` (which says how each is taken)
#: on the 2-core AVX-512 dev VM, float32, both threads, in one run after the register tiles,
#: the depthwise kernel and the call fast path were merged (2026-11-25, load average 0.3).
COSTS: dict[str, tuple[float, str]] = {
    "CALL_S": (2.8e-6, "W0 (4x4 image, 3x3 kernel): the fixed cost of one call"),
    "WINOGRAD_CALL_S": (1.9e-5, "W0 with method='winograd', less CALL_S"),
    "FFT_CALL_S": (5.0e-5, "W0 with method='fft', less CALL_S"),
    "DIRECT_MACS_PER_S": (
        1.6e10,
        "512x512 image, 7x7 kernel, method='direct': the row loop (every kernel that the "
        "register tiles do not take)",
    ),
    "DIRECT_TILE_MACS_PER_S": (
        3.55e10,
        "W1 (512x512, 3x3) with method='direct': the register tiles (2-D, 3x3 or 5x5, unit "
        "stride and dilation)",
    ),
    "GEMM_MACS_PER_S": (6.8e10, "W4 (N=8 C=64 56x56 -> 64 3x3 pad 1) with method='gemm'"),
    "WINOGRAD_MACS_PER_S": (
        8.6e10,
        "W4's transform-domain products alone: 36 batched (196x64)@(64x64) matmuls per image "
        "on fastconv's pool, BLAS on one thread per worker",
    ),
    "WINOGRAD4_S_PER_TILE_CHANNEL": (
        4.3e-8,
        "W4 with method='winograd' less its products (at WINOGRAD_MACS_PER_S), per 4x4 tile "
        "and channel (input and output channels counted), one thread",
    ),
    "WINOGRAD2_S_PER_TILE_CHANNEL": (
        1.1e-8,
        "W4 with method='winograd_f2' less its products (at WINOGRAD_MACS_PER_S), per 2x2 "
        "tile and channel, one thread",
    ),
    "DEPTHWISE_S_PER_ELEMENT": (
        5.6e-10,
        "W6's shape (N=8 C=128 56x56, groups=128) with method='depthwise' and a 1x1 kernel, "
        "per input and output element less its multiply-adds, one thread (bench/cost_model.py "
        "depthwise)",
    ),
    "DEPTHWISE_MACS_PER_S": (
        2.9e10,
        "W6's shape with method='depthwise', 5x5 pad 2 against 1x1: the extra 24 multiply-adds "
        "per output, one thread (an earlier run on the loaded VM gave 1.1e10; direct took "
        "2-3x as long as depthwise on W6 in one process)",
    ),
    "FFT_S_PER_UNIT": (
        3.0e-10,
        "W3 (4096x4096, 31x31) with method='fft', per N log2 N unit of algorithms.fft.plan's "
        "cost, one thread",
    ),
}
#: the threads of the machine that measured the rates of COSTS marked "both threads" (GEMM,
#: Winograd's products); :func:`predict` scales them to the threads it predicts for
COST_THREADS = 2
GEMM_MIN_WORK = THRESHOLDS["GEMM_MIN_WORK"][0]
SEPARABLE_MIN_TAPS = THRESHOLDS["SEPARABLE_MIN_TAPS"][0]
WEIGHT_DIRECT_MIN_TAPS = THRESHOLDS["WEIGHT_DIRECT_MIN_TAPS"][0]
SEPARABLE_RANK_MAX_PERCENT = THRESHOLDS["SEPARABLE_RANK_MAX_PERCENT"][0]
SINGLE_DIRECT_MIN_POSITIONS = THRESHOLDS["SINGLE_DIRECT_MIN_POSITIONS"][0]


def _output_plane(geo: Geometry) -> int:
    """Output positions per image and channel."""
    return math.prod(geo.output_shape[2:])


def _py(kernel):
    """The Python function of a Numba kernel (itself when Numba's JIT is disabled), to ask a
    small predicate from Python without compiling it."""
    return getattr(kernel, "py_func", kernel)


def _tiles_serve(geo: Geometry) -> bool:
    """Whether the direct method runs its register tiles here (a 2-D 3x3 or 5x5 kernel, unit
    steps: ``_numba.direct.tiled``)."""
    from ._numba.direct import tiled

    x3, w3, _, stride, dilation = _canonical(geo)
    return x3[2] == 1 and w3[2] == 1 and _py(tiled)(*w3[3:], *stride[1:], *dilation[1:])


def _direct_tiles_pay(geo: Geometry) -> bool:
    """Whether the direct method's register tiles serve this one-channel problem and its
    planes are large enough for them to beat the depthwise kernel
    (:data:`SINGLE_DIRECT_MIN_POSITIONS`)."""
    return _tiles_serve(geo) and _output_plane(geo) >= SINGLE_DIRECT_MIN_POSITIONS


def _rule(geo: Geometry) -> tuple[Method, str]:
    """The measured threshold rule between *direct* and *gemm* (see the module docstring).

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (8, 64, 56, 56), f4, (64, 64, 3, 3), f4,
    ...                      None, None, 1, 1, 1, 1, "zeros")
    >>> method, reason = _rule(geo)
    >>> method
    <Method.GEMM: 'gemm'>
    >>> print(reason)
    64 filters per group share each window of 576 values: BLAS matrix product
    >>> geo = normalize_conv("conv2d", 2, (1, 512, 512), f4, (1, 1, 3, 3), f4,
    ...                      None, None, 1, 0, 1, 1, "zeros")
    >>> _rule(geo)[1]
    'one filter per group: direct row accumulation'
    """
    from ._core import one_call_pays

    per_group = geo.weight_shape[0] // geo.spec.groups
    window = math.prod(geo.weight_shape[1:])
    if geo.spec.groups > 1 and unsupported(Method.DEPTHWISE, geo) is None:
        return Method.DEPTHWISE, (
            f"depthwise ({geo.spec.groups} groups of one input channel, {per_group} filter(s) "
            "each): flat loops over a cached band of each plane"
        )
    if (
        per_group == 1
        and geo.weight_shape[1] == 1
        and not _direct_tiles_pay(geo)
        and not one_call_pays(geo)  # the smallest (W0): direct's one call, a few µs
    ):
        if unsupported(Method.DEPTHWISE, geo) is None:  # one channel in and out, 1-D or 2-D
            return Method.DEPTHWISE, (
                "one input channel and one filter: the depthwise kernel's cached bands (the "
                "direct method's register tiles take 3x3 and 5x5 kernels on planes of "
                f"{SINGLE_DIRECT_MIN_POSITIONS} outputs or more)"
            )
    if per_group == 1:
        return Method.DIRECT, "one filter per group: direct row accumulation"
    if per_group * window < GEMM_MIN_WORK:
        return Method.DIRECT, (
            f"{per_group} filters per group x window of {window} values < {GEMM_MIN_WORK}: "
            "too little reuse for a window matrix"
        )
    return Method.GEMM, (
        f"{per_group} filters per group share each window of {window} values: BLAS matrix product"
    )


def _canonical(geo: Geometry):
    from ._core import _pad3, _to3d

    nd = geo.spec.ndim
    return (
        _to3d(geo.input_shape, nd),
        _to3d(geo.weight_shape, nd),
        _to3d(geo.output_shape, nd),
        _pad3(geo.spec.stride, 1),
        _pad3(geo.spec.dilation, 1),
    )


def unsupported(method: Method, geo: Geometry) -> str | None:
    """Why ``method`` cannot run ``geo`` at all, or ``None`` if it can (geometry only).

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> geo = normalize_conv("conv2d", 2, (1, 4, 8, 8), np.dtype("float32"), (4, 4, 5, 5),
    ...                      np.dtype("float32"), None, None, 1, 0, 1, 1, "zeros")
    >>> unsupported(Method.WINOGRAD, geo)
    'a 3x3 kernel, got 5x5'
    """
    x3, w3, o3, stride, dilation = _canonical(geo)
    if method in (Method.WINOGRAD, Method.WINOGRAD_F2, Method.DEPTHWISE):
        if method is Method.DEPTHWISE:
            from .algorithms.depthwise import unsupported as why_depthwise

            why_not = why_depthwise(x3, w3, o3, geo.spec.groups)
        else:
            from .algorithms.winograd import unsupported as why_winograd

            why_not = why_winograd(x3, w3, stride, dilation)
        if why_not is None and geo.spec.ndim == 3 and (o3[2] != 1 or geo.spec.padding[0][0]):
            # these run 2-D planes (input and kernel depth 1 by now): the depth axis of a
            # conv3d must stay trivial, without padding that the planes would not see
            why_not = (
                "a 2-D problem: conv3d only with input, kernel and output depth 1 and no "
                f"padding before the depth axis, got output depth {o3[2]}, depth padding "
                f"{geo.spec.padding[0]}"
            )
        return why_not
    if method is Method.FFT:
        from .algorithms.fft_conv import unsupported as why

        return why(w3, stride, dilation)
    if method is Method.SEPARABLE:
        return separable_unsupported(geo)
    return None


def predict(method: Method, geo: Geometry, threads: int | None = None) -> float | None:
    """Predicted seconds of ``method`` on ``geo`` by the cost model (:data:`COSTS`), or
    ``None`` where the method does not apply (or, for *separable*, depends on the weights).

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (8, 64, 56, 56), f4, (64, 64, 3, 3), f4,
    ...                      None, None, 1, 1, 1, 1, "zeros")
    >>> [round(predict(m, geo, 2) * 1e3, 1) for m in (Method.GEMM, Method.WINOGRAD)]
    [13.6, 7.0]
    """
    if method is Method.SEPARABLE or unsupported(method, geo) is not None:
        return None
    if threads is None:
        from ._threads import num_threads

        threads = num_threads()
    c = {name: value for name, (value, _) in COSTS.items()}
    x3, w3, o3, _, _ = _canonical(geo)
    n_images, n_out = o3[:2]
    groups = geo.spec.groups
    cg, og = w3[1], n_out // groups
    positions = math.prod(o3[2:])
    macs = n_images * n_out * positions * cg * math.prod(w3[2:])
    if method is Method.DIRECT:
        tiles = _tiles_serve(geo)  # the register tiles of 3x3 and 5x5 kernels
        rate = c["DIRECT_TILE_MACS_PER_S" if tiles else "DIRECT_MACS_PER_S"]
        return c["CALL_S"] + macs / rate
    if method is Method.DEPTHWISE:
        elements = math.prod(x3) + math.prod(o3)
        per_thread = elements * c["DEPTHWISE_S_PER_ELEMENT"] + macs / c["DEPTHWISE_MACS_PER_S"]
        return c["CALL_S"] + per_thread / threads
    # GEMM_MACS_PER_S and WINOGRAD_MACS_PER_S were measured on COST_THREADS threads
    share = threads / COST_THREADS
    if method is Method.GEMM:
        return c["CALL_S"] + macs / (c["GEMM_MACS_PER_S"] * share)
    if method in (Method.WINOGRAD, Method.WINOGRAD_F2):
        m = 4 if method is Method.WINOGRAD else 2
        tiles = n_images * math.ceil(o3[3] / m) * math.ceil(o3[4] / m)
        per = c[f"WINOGRAD{m}_S_PER_TILE_CHANNEL"]
        products = tiles * (m + 2) ** 2 * cg * og * groups / (c["WINOGRAD_MACS_PER_S"] * share)
        return (
            c["CALL_S"] + c["WINOGRAD_CALL_S"] + products
            + tiles * (x3[1] + n_out) * per / threads
        )  # fmt: skip
    # FFT: the transforms of fastconv.algorithms.fft's model, plus the per-frequency products
    from .algorithms import fft

    sp = tuple(d for d in o3[2:] if d > 1) or (1,)
    ks = tuple(k for k, d in zip(w3[2:], o3[2:]) if d > 1) or (1,)
    if cg == 1:
        units = fft.plan(sp, ks, n_images * x3[1], n_out, n_images * n_out).cost
        extra = 0.0
    else:
        units = fft.plan(sp, ks, n_images * x3[1], n_out * cg, n_images * n_out, blocks=False).cost
        freq = math.prod(fft._fast_len(o + k - 1, True) for o, k in zip(sp, ks))
        extra = 4 * n_images * n_out * cg * freq / 2 / c["GEMM_MACS_PER_S"]
    return c["CALL_S"] + c["FFT_CALL_S"] + units * c["FFT_S_PER_UNIT"] / threads + extra


#: the methods whose cost the model compares under ``method="auto"``
AUTO_METHODS = (
    Method.DIRECT,
    Method.GEMM,
    Method.DEPTHWISE,
    Method.WINOGRAD,
    Method.WINOGRAD_F2,
    Method.FFT,
)
#: an alternative to the measured rule's choice must be predicted this much faster
MARGIN = 0.8


def candidates(geo: Geometry, threads: int | None = None) -> tuple[tuple[Method, float], ...]:
    """Every method that can run ``geo``, with its predicted seconds (cheapest first)."""
    found = [(m, predict(m, geo, threads)) for m in AUTO_METHODS]
    return tuple(sorted(((m, t) for m, t in found if t is not None), key=lambda mt: mt[1]))


def inexact_allowed(method: Method, geo: Geometry, exact: bool) -> str | None:
    """Why the correctness rules keep ``method="auto"`` off ``method``, or ``None``.

    Integer and bool inputs (``exact``) stay on the methods that sum products exactly as the
    reference does (direct, gemm, separable). Winograd is taken only where its float32 error
    was measured within :data:`fastconv.algorithms.winograd.ERROR_BOUND` (1e-4 of the largest
    output, ``tests/test_winograd.py``: up to :data:`WINOGRAD_MAX_CHANNELS` input channels per
    group); the FFT only where its error estimate (``4 u log2(N)`` of the typical output,
    ``fastconv.algorithms.fft``) is below 1e-4, which holds for float32 and float64 at every
    size that fits in memory.
    """
    if method not in (Method.WINOGRAD, Method.WINOGRAD_F2, Method.FFT):
        return None
    if exact:
        return "integer inputs: exact methods only"
    if method is not Method.FFT and geo.weight_shape[1] > WINOGRAD_MAX_CHANNELS:
        return f"more than {WINOGRAD_MAX_CHANNELS} input channels per group: error not measured"
    return None


#: Winograd's error was measured (and tested) up to this many input channels per group
WINOGRAD_MAX_CHANNELS = 512


def choose_method(geo: Geometry, exact: bool = False) -> tuple[Method, str]:
    """Return the algorithm ``method="auto"`` runs for this problem, and why.

    First the correctness rules (:func:`inexact_allowed`; ``exact``: integer or bool inputs),
    then the measured direct/gemm rule, then the cost model: *winograd*, *winograd_f2* or
    *fft* replace the rule's choice where :func:`predict` expects them to take at most
    :data:`MARGIN` of its time.

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (8, 64, 56, 56), f4, (64, 64, 3, 3), f4,
    ...                      None, None, 1, 1, 1, 1, "zeros")
    >>> method, reason = choose_method(geo)
    >>> method
    <Method.WINOGRAD: 'winograd'>
    >>> print(reason)
    F(4x4, 3x3) Winograd: predicted 7.0 ms against 13.6 ms for gemm
    >>> choose_method(geo, exact=True)[0]
    <Method.GEMM: 'gemm'>
    >>> geo = normalize_conv("conv2d", 2, (1, 512, 512), f4, (1, 1, 3, 3), f4,
    ...                      None, None, 1, 0, 1, 1, "zeros")
    >>> choose_method(geo)[1]
    'one filter per group: direct row accumulation'
    """
    base, reason = _rule(geo)
    from ._threads import num_threads

    threads = num_threads()
    t_base = predict(base, geo, threads)
    best, t_best = base, t_base
    for method in (Method.WINOGRAD, Method.WINOGRAD_F2, Method.FFT):
        t = predict(method, geo, threads)
        if t is None or inexact_allowed(method, geo, exact) is not None:
            continue
        if t <= MARGIN * t_base and t < t_best:
            best, t_best = method, t
    if best is base:
        return base, reason
    what = {
        Method.WINOGRAD: "F(4x4, 3x3) Winograd",
        Method.WINOGRAD_F2: "F(2x2, 3x3) Winograd",
        Method.FFT: "FFT",
    }[best]
    return best, (
        f"{what}: predicted {t_best * 1e3:.1f} ms against {t_base * 1e3:.1f} ms for {base}"
    )


def separable_unsupported(geo: Geometry) -> str | None:
    """Why the separable algorithm cannot run this geometry, or ``None`` if it can.

    It needs two spatial axes and every output reading one input channel (``C/groups == 1``).
    """
    if geo.spec.ndim != 2:
        return f"a 2-D kernel (conv2d), got {geo.spec.ndim} spatial axes"
    if geo.weight_shape[1] != 1:
        return (
            f"each output to read one input channel (weight.shape[1] == 1: single-channel or "
            f"depthwise), got weight of shape {geo.weight_shape} with groups={geo.spec.groups}"
        )
    return None


def separable_pays(kernel: tuple[int, ...]) -> bool:
    """Whether two 1-D passes beat the direct algorithm for a rank-1 kernel of this shape.

    >>> separable_pays((2, 4)), separable_pays((3, 3)), separable_pays((1, 15))
    (False, True, False)
    """
    return min(kernel) >= 2 and math.prod(kernel) >= SEPARABLE_MIN_TAPS


def separable_candidate(geo: Geometry) -> bool:
    """Whether ``method="auto"`` should look at the weights for low-rank kernels (step 1).

    Not for depthwise layers (``groups > 1``): the depthwise algorithm took less than half the
    time of the separable one on W6's shape with rank-1 3x3 and 5x5 kernels
    (``python bench/crossover.py depthwise``); nor for planes of fewer than
    :data:`SINGLE_DIRECT_MIN_POSITIONS` outputs, where it also won.
    """
    return (
        geo.spec.groups == 1
        and geo.weight_shape[0] == 1  # one filter
        and separable_unsupported(geo) is None
        and separable_pays(geo.weight_shape[2:])
        # small planes: the depthwise kernel beat the two passes (SINGLE_DIRECT_MIN_POSITIONS)
        and _output_plane(geo) >= SINGLE_DIRECT_MIN_POSITIONS
    )


def with_weights(
    method: Method, reason: str, geo: Geometry, weight: np.ndarray, *, explain: bool = False
) -> tuple[Method, str]:
    """Step 1 of the rule, for a :func:`separable_candidate` geometry: *separable* if every
    kernel of ``weight`` is of rank 1, else the geometry's choice (``method``, ``reason``);
    with ``explain`` the reason then says that the kernel is not of rank 1.

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f8 = np.dtype("float64")
    >>> geo = normalize_conv("conv2d", 2, (1, 256, 256), f8, (1, 1, 5, 5), f8,
    ...                      None, None, 1, 0, 1, 1, "zeros")
    >>> method, reason = choose_method(geo)
    >>> method, reason = with_weights(method, reason, geo, np.ones((1, 1, 5, 5)))
    >>> method
    <Method.SEPARABLE: 'separable'>
    >>> print(reason)
    rank-1 5x5 kernel: two 1-D passes, 10 instead of 25 multiply-adds per output
    >>> method, reason = choose_method(geo)
    >>> with_weights(method, reason, geo, np.eye(5)[None, None], explain=True)[1]
    'one filter per group: direct row accumulation (kernel not of rank 1)'
    """
    from .algorithms.separable import analyse_rank

    kh, kw = geo.weight_shape[2:]
    # in the compute dtype, as the algorithm will see them (its analysis is then remembered)
    kernels = np.asarray(weight, dtype=geo.compute_dtype).reshape(-1, kh, kw)
    found = analyse_rank(np.ascontiguousarray(kernels), geo.compute_dtype)
    rank = 0 if found is None else found[0].shape[-2]
    if rank == 1:
        return Method.SEPARABLE, (
            f"rank-1 {kh}x{kw} kernel: two 1-D passes, {kh + kw} instead of {kh * kw} "
            "multiply-adds per output"
        )
    if (
        rank > 1
        and method in (Method.DIRECT, Method.DEPTHWISE)
        and separable_rank_pays((kh, kw), rank)
    ):
        return Method.SEPARABLE, (
            f"rank-{rank} {kh}x{kw} kernel: {rank} pairs of 1-D passes, {rank * (kh + kw)} "
            f"instead of {kh * kw} multiply-adds per output"
        )
    return method, f"{reason} (kernel not of rank 1)" if explain else reason


def separable_rank_pays(kernel: tuple[int, int], rank: int) -> bool:
    """Whether ``rank`` pairs of 1-D passes beat the direct algorithm for a kernel of rank
    ``rank > 1``: ``rank * (KH + KW)`` at most :data:`SEPARABLE_RANK_MAX_PERCENT` % of
    ``KH * KW`` multiply-adds (each pair after the first also adds its rows to the output).

    >>> separable_rank_pays((7, 7), 2), separable_rank_pays((11, 11), 2)
    (False, True)
    """
    kh, kw = kernel
    return 100 * rank * (kh + kw) <= SEPARABLE_RANK_MAX_PERCENT * kh * kw


def choose_transpose_method(geo: Geometry) -> tuple[Method, str]:
    """The rule of :func:`choose_method` for a transposed convolution, and so for ``grad_input``.

    ``geo.weight_shape`` is read as a transposed convolution's weight
    ``(in_channels, out_channels / groups, *kernel)`` -- which a forward convolution's weight
    ``(O, C / groups, *kernel)`` is for its ``grad_input``. The transposed convolution is a
    correlation with the flipped weight whose channel axes are swapped,
    ``(out_channels, in_channels / groups, *kernel)``, and the rule is applied to that.

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (8, 3, 224, 224), f4, (64, 3, 7, 7), f4,
    ...                      None, None, 2, 3, 1, 1, "zeros")
    >>> method, reason = choose_transpose_method(geo)   # grad_input of a 3 -> 64 channel layer
    >>> method
    <Method.GEMM: 'gemm'>
    >>> print(reason)
    3 filters per group share each window of 3136 values: BLAS matrix product
    """
    c_in, per_group, *kernel = geo.weight_shape
    groups = geo.spec.groups
    swapped = (per_group * groups, c_in // groups, *kernel)
    return choose_method(dataclasses.replace(geo, weight_shape=swapped))


def choose_input_method(geo: Geometry) -> tuple[Method, str]:
    """The algorithm of the ``grad_input`` of the forward convolution ``geo``.

    That gradient *is* the transposed convolution of ``grad_output`` (the forward output's
    shape) producing the input's shape, so the forward geometry is read as
    ``conv_transpose*d`` normalises that call -- input and output shapes exchanged -- and
    :func:`choose_transpose_method` decides; ``conv2d_input`` and the matching
    ``conv_transpose2d`` therefore always run the same algorithm (and agree bit for bit).

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (1, 6, 1, 2), f4, (2, 3, 4, 4), f4,
    ...                      None, None, 1, "same", 1, 2, "zeros")
    >>> choose_input_method(geo)[0]   # grad_output's 2 channels, 3 outputs each: depthwise
    <Method.DEPTHWISE: 'depthwise'>
    """
    view = dataclasses.replace(geo, input_shape=geo.output_shape, output_shape=geo.input_shape)
    return choose_transpose_method(view)


def choose_weight_method(geo: Geometry) -> tuple[Method, str]:
    """The algorithm of a weight gradient (``conv*d_weight``) under ``method="auto"``.

    The GEMM form multiplies the forward window matrix of the input by the output gradient;
    the direct form is a correlation whose output rows are only a kernel row long, so it
    pays off only for one filter per group and a kernel of at least
    :data:`WEIGHT_DIRECT_MIN_TAPS` taps (where the window matrix is that many copies of the
    input).

    >>> import numpy as np
    >>> from fastconv._spec import normalize_conv
    >>> f4 = np.dtype("float32")
    >>> geo = normalize_conv("conv2d", 2, (8, 32, 56, 56), f4, (32, 1, 3, 3), f4,
    ...                      None, None, 1, 1, 1, 32, "zeros")
    >>> choose_weight_method(geo)[0]    # depthwise 3x3
    <Method.GEMM: 'gemm'>
    >>> geo = normalize_conv("conv2d", 2, (1, 1, 512, 512), f4, (1, 1, 9, 9), f4,
    ...                      None, None, 1, 0, 1, 1, "zeros")
    >>> print(choose_weight_method(geo)[1])
    one filter per group and 81 taps >= 81: direct correlation of the input with grad_output
    """
    per_group = geo.weight_shape[0] // geo.spec.groups
    taps = math.prod(geo.weight_shape[2:])
    if per_group == 1 and taps >= WEIGHT_DIRECT_MIN_TAPS:
        return Method.DIRECT, (
            f"one filter per group and {taps} taps >= {WEIGHT_DIRECT_MIN_TAPS}: direct "
            "correlation of the input with grad_output"
        )
    return Method.GEMM, "window matrix of the input times grad_output: BLAS matrix product"

"""``fastconv.explain`` and ``fastconv.animate``: the trace against the engine, the renderings
against golden text and the JSON schema, the GIFs read back pixel by pixel."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import assert_close

import fastconv
from fastconv import animate, explain
from fastconv._explain import draw
from fastconv._explain.scatter import scatter_trace
from fastconv._explain.schema import TRACE_SCHEMA, schema_errors, validate

GOLDEN = Path(__file__).parent / "golden"
SEED_IMAGE = np.arange(1.0, 17.0).reshape(4, 4)
SEED_KERNEL = np.array([[1.0, 0, 1], [0, 1, 0], [1, 0, 1]])
CONV = {1: fastconv.conv1d, 2: fastconv.conv2d, 3: fastconv.conv3d}


# ------------------------------------------------------------------------------------------
# the trace against the engine

# (nd, x shape, weight shape, keyword arguments): every parameter of conv*d at least once
GRID = [
    (1, (7,), (3,), {}),
    (1, (2, 9), (3, 2, 3), {"stride": 2, "padding": 1}),
    (1, (2, 2, 8), (4, 1, 2), {"groups": 2, "padding": "same", "stride": 3}),
    (1, (1, 6), (1, 1, 3), {"padding": ((2, 1),), "padding_mode": "reflect", "dilation": 2}),
    (2, (4, 4), (3, 3), {}),
    (2, (5, 6), (2, 3), {"stride": (2, 1), "padding": 1, "dilation": 2}),
    (2, (5, 5), (2, 2), {"padding": "same"}),
    (2, (5, 5), (3, 3), {"padding": "valid", "convolve": True}),
    (2, (1, 6, 5), (1, 1, 3, 2), {"padding": ((1, 2), (0, 3)), "padding_mode": "circular"}),
    (2, (2, 5, 5), (2, 2, 3, 3), {"padding": 2, "padding_mode": "replicate", "stride": 2}),
    (2, (2, 4, 5, 5), (6, 2, 3, 3), {"groups": 2, "padding": 1, "padding_mode": "symmetric"}),
    (2, (1, 3, 6, 6), (3, 1, 2, 2), {"groups": 3, "stride": 2, "convolve": True}),
    (2, (2, 1, 7, 7), (2, 1, 3, 3), {"dilation": (2, 3), "padding": "same", "stride": 2}),
    (3, (1, 4, 4, 4), (2, 1, 2, 2, 2), {}),
    (3, (2, 4, 5, 3), (2, 2, 2, 3, 2), {"stride": (1, 2, 1), "padding": ((1, 0), 1, (0, 1))}),
    (3, (1, 2, 3, 4, 4), (2, 1, 1, 2, 3), {"groups": 2, "dilation": 2, "padding": 2,
                                          "padding_mode": "reflect", "convolve": True}),
]  # fmt: skip


def _engine(nd, x, w, bias, kwargs):
    """The same call to conv1d/2d/3d (plain operands as (1, *spatial) and (1, 1, *kernel))."""
    kwargs = dict(kwargs)
    if kwargs.pop("convolve", False):
        w = w[(..., *[slice(None, None, -1)] * nd)]
    plain = w.ndim == nd
    if plain:
        x, w = x[None], w[None, None]
    out = CONV[nd](x, w, bias, **kwargs)
    return out[0] if plain else out


# every case without bias, and again with a bias where the weight has filters (not plain)
CASES = [(*case, False) for case in GRID] + [(*c, True) for c in GRID if len(c[2]) > c[0]]


@pytest.mark.parametrize(("nd", "x_shape", "w_shape", "kwargs", "with_bias"), CASES)
def test_assembled_output_equals_the_engine(nd, x_shape, w_shape, kwargs, with_bias) -> None:
    rng = np.random.default_rng(len(x_shape) * 100 + sum(x_shape))
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    bias = rng.standard_normal(w_shape[0]) if with_bias else None
    trace = explain(x, w, bias=bias, **kwargs)
    expected = _engine(nd, x, w, bias, kwargs)
    assembled = np.array([s.value for s in trace.steps]).reshape(trace.output_shape)
    assert trace.output_shape == expected.shape
    assert_close(assembled, expected)
    assert_close(trace.output, expected)
    assert len(trace.steps) == expected.size


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.bool_])
def test_other_dtypes_trace_in_float64(dtype) -> None:
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((2, 6, 7)) * 3).astype(dtype)
    w = (rng.standard_normal((3, 2, 3, 2)) * 3).astype(dtype)
    trace = explain(x, w, stride=(1, 2), padding=1)
    expected = fastconv.conv2d(x, w, None, (1, 2), 1)
    assert trace.output.dtype == np.float64 and trace.steps[0].window.dtype == np.float64
    tolerance_dtype = expected.dtype if expected.dtype.kind == "f" else np.float64
    assert_close(trace.output, expected, tolerance_dtype)


def test_steps_are_in_the_tutorials_order_and_self_consistent() -> None:
    x = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    w = np.arange(4 * 3 * 2 * 2.0).reshape(4, 3, 2, 2) / 10
    trace = explain(x, w, bias=[1, 2, 3, 4], stride=(2, 1), padding=1)
    steps = list(trace.steps)
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    indices = [s.index for s in steps]
    assert indices == sorted(indices)  # batch, then filter, then row-major positions
    for s in steps[:: max(1, len(steps) // 9)]:
        assert s.index == (s.batch, s.out_channel, *s.position)
        assert s.channels == (0, 1, 2)
        np.testing.assert_array_equal(s.products, s.window * s.kernel)
        np.testing.assert_allclose(s.channel_sums.sum(), s.sum)
        assert s.value == pytest.approx(s.sum + s.bias)
        assert s.bias == [1, 2, 3, 4][s.out_channel]
        padded_window = trace.padded[s.batch][np.ix_(s.channels, *s.taps)]
        np.testing.assert_array_equal(s.window, padded_window)
        assert s.window_start == tuple(p * st for p, st in zip(s.position, (2, 1)))


def test_grouped_steps_read_their_groups_channels() -> None:
    trace = explain(np.ones((4, 5, 5)), np.ones((6, 2, 3, 3)), groups=2)
    by_filter = {s.out_channel: s.channels for s in trace.steps[::9]}
    assert by_filter == {0: (0, 1), 1: (0, 1), 2: (0, 1), 3: (2, 3), 4: (2, 3), 5: (2, 3)}


def test_convolve_flips_the_kernel_and_says_so() -> None:
    k = np.array([[1.0, 2], [3, 4]])
    trace = explain(SEED_IMAGE, k, convolve=True)
    np.testing.assert_array_equal(trace.weight[0, 0], k[::-1, ::-1])
    np.testing.assert_array_equal(trace.given_weight[0, 0], k)
    text = trace.to_text()
    assert text.startswith("Convolution of a 4×4 input with a 2×2 kernel (the kernel is flipped")
    assert "kernel, flipped along every axis (convolve=True)" in text


def test_running_output_and_padding_mask() -> None:
    trace = explain(SEED_IMAGE, SEED_KERNEL, padding=((1, 0), (0, 2)))
    after = trace.output_after(5)
    assert np.isnan(after).sum() == trace.n_steps - 5
    np.testing.assert_array_equal(after.ravel()[:5], trace.output.ravel()[:5])
    mask = trace.padding_mask
    assert mask.shape == (5, 6) and mask.sum() == 5 * 6 - 16
    assert mask[0].all() and mask[:, 4:].all() and not mask[1:, :4].any()


def test_large_trace_builds_steps_on_demand() -> None:
    trace = explain(np.zeros((226, 226)), np.ones((3, 3)))
    assert len(trace.steps) == 50176
    assert trace.steps[-1].index == (223, 223) and trace.steps[-1].window_stop == (225, 225)
    assert trace.to_text().count("\nstep ") == 20
    assert "steps 1–20 of 50 176 shown" in trace.to_text()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stride": 0}, "explain: expected stride to be positive, got stride=0"),
        ({"padding": "full"}, "explain: expected padding to be an int, a sequence, 'valid' or"),
        ({"padding_mode": "wrap"}, "explain: expected padding_mode to be one of"),
        ({"dilation": 3}, "explain: expected the dilated kernel (7, 7) to fit in the padded"),
        ({"convolve": "yes"}, "explain: expected convolve to be True or False, got 'yes'"),
    ],
)
def test_bad_arguments_use_the_cores_messages(kwargs, message) -> None:
    with pytest.raises((ValueError, TypeError)) as exc:
        explain(SEED_IMAGE, SEED_KERNEL, **kwargs)
    assert message in str(exc.value)


def test_bad_shapes() -> None:
    with pytest.raises(ValueError, match="expected a plain 2-D input for the plain 2-D kernel"):
        explain(np.zeros((1, 4, 4)), SEED_KERNEL)
    with pytest.raises(ValueError, match="expected weight with 3, 4 or 5 dimensions"):
        explain(np.zeros((1, 1, 1, 4, 4, 4)), np.zeros((1, 1, 1, 1, 2, 2)))
    with pytest.raises(ValueError, match="given groups=1 and weight of shape"):
        explain(np.zeros((2, 4, 4)), np.zeros((1, 3, 3, 3)))
    with pytest.raises(TypeError, match="explain: expected input to have a real floating"):
        explain(np.zeros((4, 4), complex), SEED_KERNEL)


# ------------------------------------------------------------------------------------------
# renderings


def _golden(name: str, text: str) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    assert text == expected, f"{name} differs; actual:\n{text}"


def test_golden_text_of_the_seed_example() -> None:
    _golden("explain_seed.txt", explain(SEED_IMAGE, SEED_KERNEL).to_text() + "\n")


def test_golden_text_and_markdown_of_a_strided_padded_dilated_example() -> None:
    x = np.arange(1.0, 26.0).reshape(5, 5)
    trace = explain(x, np.array([[1.0, -1], [2, 0]]), stride=2, padding=1, dilation=2)
    _golden("explain_strided.txt", trace.to_text(max_steps=4) + "\n")
    _golden("explain_strided.md", trace.to_markdown(max_steps=2))
    np.testing.assert_array_equal(
        trace.output, fastconv.conv2d(x[None], np.array([[[[1.0, -1], [2, 0]]]]), None, 2, 1, 2)[0]
    )


def test_text_for_channels_bias_and_3d() -> None:
    x = np.stack([SEED_IMAGE, -SEED_IMAGE])
    text = explain(x, np.ones((1, 2, 3, 3)), bias=[0.5]).to_text(max_steps=1)
    assert "input channel 0:" in text and "input channel 1:" in text
    assert "channel 0 sum: the 9 products add up to 54" not in text  # 9 terms are written out
    assert "channel 1 sum: (-1) + (-2) + (-3)" in text
    assert "add the channel sums: 54 + (-54) = 0" in text
    assert "add the bias: 0 + 0.5 = 0.5" in text
    text3 = explain(np.ones((1, 3, 3, 3)), np.ones((1, 1, 2, 2, 2))).to_text(max_steps=3)
    assert "window plane 1:" in text3
    assert "select the window at planes 0–1, rows 0–1, columns 1–2" in text3
    assert "move down by the stride (1) and start again from the left" in text3


def test_region_and_max_steps() -> None:
    trace = explain(np.zeros((6, 6)), np.ones((3, 3)))
    assert trace.select(max_steps=None) == list(range(1, 17))
    assert trace.select(region=[(1, 3), slice(2, None)]) == [7, 8, 11, 12]
    assert trace.select(region=[-1, None], max_steps=2) == [13, 14]
    text = trace.to_text(region=[(1, 3), (2, 4)])
    assert "steps 7–8, 11–12 of 16 shown" in text
    assert "\n  move the window\n" in text  # a jump from step 8 to step 11
    with pytest.raises(ValueError, match="expected region to be one"):
        trace.select(region=[(0, 1)])
    with pytest.raises(ValueError, match="expected max_steps to be >= 0 or None"):
        trace.select(max_steps=-1)


# ------------------------------------------------------------------------------------------
# JSON


def test_json_is_valid_against_its_schema() -> None:
    for trace in (
        explain(SEED_IMAGE, SEED_KERNEL),
        explain(np.ones((2, 2, 4, 4)), np.ones((2, 1, 2, 2)), bias=[1, 2], groups=2, padding=1),
        explain(np.array([1.0, np.nan, np.inf, 2.0, 3.0]), np.array([1.0, -1.0]), convolve=True),
        explain(np.ones((1, 3, 3, 3)), np.ones((1, 1, 2, 2, 2)), padding="same"),
    ):
        data = json.loads(trace.to_json(max_steps=None))
        assert schema_errors(data) == []
        assert data["total_steps"] == len(data["steps"]) == trace.n_steps
        assert data["output_shape"] == list(trace.output_shape)
        first = data["steps"][0]
        assert first["value"] == (
            trace.steps[0].value if np.isfinite(trace.steps[0].value) else first["value"]
        )
    data = json.loads(explain(np.array([1.0, np.nan, 2]), np.array([1.0, 1])).to_json())
    assert data["output"] == ["nan", "nan"] and data["padded_input"] == [[[1.0, "nan", 2.0]]]


def test_json_shown_and_schema_catches_errors() -> None:
    data = explain(np.zeros((10, 10)), np.ones((3, 3))).to_dict(max_steps=3)
    assert data["shown"] == "steps 1–3 of 64 shown" and len(data["steps"]) == 3
    validate(data)
    broken = json.loads(json.dumps(data))
    broken["steps"][0]["sum"] = "lots"
    del broken["stride"]
    broken["extra"] = 1
    broken["axes"][0]["kernel"] = 0
    errors = schema_errors(broken)
    assert "$: missing required property 'stride'" in errors
    assert "$: unexpected property 'extra'" in errors
    assert "$.axes[0].kernel: expected at least 1, got 0" in errors
    assert any(e.startswith("$.steps[0].sum: matches none") for e in errors)
    with pytest.raises(ValueError, match="trace JSON does not match its schema"):
        validate(broken)
    assert TRACE_SCHEMA["properties"]["schema"] == {"const": "fastconv.trace/1"}
    assert fastconv.TRACE_SCHEMA is TRACE_SCHEMA


# ------------------------------------------------------------------------------------------
# animation


def _frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as im:
        out = []
        for k in range(im.n_frames):
            im.seek(k)
            out.append(np.asarray(im.convert("RGB")))
    return out


def _is(pixel: np.ndarray, colour: tuple[int, int, int]) -> bool:
    return tuple(int(c) for c in pixel) == colour


def _outline_at(frame: np.ndarray, panel: draw.Panel, rows, cols) -> bool:
    """Every side of the outline around cells rows x cols has the outline colour."""
    x0, y0, x1, y1 = panel.outline_box(rows[0], cols[0], rows[-1], cols[-1])
    xm, ym = (x0 + x1) // 2, (y0 + y1) // 2
    sides = [(ym, x0), (ym, x0 + 1), (ym, x1), (ym, x1 - 1), (y0, xm), (y1, xm)]
    return all(_is(frame[y, x], draw.OUTLINE) for y, x in sides)


def test_seed_animation_frames_outline_and_output(tmp_path: Path) -> None:
    result = animate(SEED_IMAGE, SEED_KERNEL, tmp_path / "conv.gif")
    frames = _frames(result.path)
    assert len(frames) == result.frames == 4 and result.steps == (1, 2, 3, 4)
    assert all(f.shape == (result.size[1], result.size[0], 3) for f in frames)
    assert result.mode == "numbers"
    trace = explain(SEED_IMAGE, SEED_KERNEL)
    ip, op = result.input_panel, result.output_panel
    for k, frame in enumerate(frames):
        step = trace.steps[k]
        assert _outline_at(frame, ip, *step.taps)
        assert _outline_at(frame, op, (step.position[0],), (step.position[1],))
        for other in trace.steps:
            if other.window_start != step.window_start:
                assert not _outline_at(frame, ip, *other.taps)
        # the new output value is highlighted, the kernel taps are shaded
        x0, y0, _, _ = op.box(*step.position)
        assert _is(frame[y0 + 2, x0 + 2], draw.HIGHLIGHT)
        x0, y0, _, _ = ip.box(step.taps[0][0], step.taps[1][0])
        assert _is(frame[y0 + 2, x0 + 2], draw.TAP)

    def ink(frame, box) -> int:  # dark text pixels inside a cell
        x0, y0, x1, y1 = box
        cell = frame[y0 + 3 : y1 - 2, x0 + 3 : x1 - 2].astype(int)
        return int((cell.sum(axis=2) < 300).sum())

    for r, c in np.ndindex(2, 2):
        assert ink(frames[-1], op.box(r, c)) > 10  # every output value is shown at the end
    assert ink(frames[0], op.box(0, 0)) > 10
    assert ink(frames[0], op.box(1, 1)) == 0  # not computed yet


def test_padding_and_dilation_are_drawn(tmp_path: Path) -> None:
    x = np.arange(1.0, 26.0).reshape(5, 5)
    result = animate(x, np.ones((2, 2)), tmp_path / "d.gif", padding=1, dilation=2, stride=2)
    first = _frames(result.path)[0]
    ip = result.input_panel
    x0, y0, _, _ = ip.box(0, 0)  # a tap on the padding
    assert _is(first[y0 + 2, x0 + 2], draw.TAP)
    x0, y0, _, _ = ip.box(0, 1)  # the gap between two taps: padding, not a tap
    assert _is(first[y0 + 2, x0 + 2], draw.PAD_FILL)
    x0, y0, _, _ = ip.box(1, 1)  # a gap inside the input
    assert _is(first[y0 + 2, x0 + 2], draw.WHITE)
    x0, y0, _, _ = ip.box(6, 6)  # padding outside the window
    assert _is(first[y0 + 2, x0 + 2], draw.PAD_FILL)
    assert _outline_at(first, ip, (0, 2), (0, 2))


def test_heatmap_animation_of_a_larger_input(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.random((30, 40))
    result = animate(x, np.ones((3, 3)) / 9, tmp_path / "h.gif", padding=1, max_frames=25)
    assert result.mode == "heatmap" and result.frames == 25
    assert result.steps[0] == 1 and result.steps[-1] == 1200
    assert np.all(np.diff(result.steps) > 0)
    frames = _frames(result.path)
    assert len(frames) == 25
    trace = explain(x, np.ones((3, 3)) / 9, padding=1)
    ip, op = result.input_panel, result.output_panel
    for k in (0, 7, 24):
        step = trace.steps[result.steps[k] - 1]
        assert _outline_at(frames[k], ip, *step.taps)
    last, out = frames[-1], trace.output
    lo, hi = out.min(), out.max()
    for r, c in [(0, 0), (5, 17), (29, 39), (14, 3)]:
        x0, y0, x1, y1 = op.box(r, c)
        level = int(last[(y0 + y1) // 2, (x0 + x1) // 2][0])
        assert abs(level - 255 * (out[r, c] - lo) / (hi - lo)) <= 4  # 64 grey levels
    panel = last[op.y : op.y + op.height, op.x : op.x + op.width].reshape(-1, 3)
    assert not (panel == draw.PENDING).all(axis=1).any()  # every output value is drawn
    middle = frames[12][op.y : op.y + op.height, op.x : op.x + op.width].reshape(-1, 3)
    assert (middle == draw.PENDING).all(axis=1).sum() > 0.3 * len(middle)


def test_512_image_renders_quickly_with_the_frame_cap(tmp_path: Path) -> None:
    x = np.random.default_rng(2).random((512, 512))
    start = time.perf_counter()
    result = animate(x, SEED_KERNEL, tmp_path / "big.gif", padding=1)
    elapsed = time.perf_counter() - start
    assert result.frames == 200 and result.total_steps == 512 * 512
    assert elapsed < 40, f"{elapsed:.1f} s"  # about 3 s alone on the 2-core machine
    with Image.open(result.path) as im:
        assert im.n_frames == 200 and im.size == result.size


def test_apng_and_one_dimensional(tmp_path: Path) -> None:
    result = animate(np.arange(8.0), np.array([1.0, -1, 2]), tmp_path / "one.png", padding=1)
    with Image.open(result.path) as im:
        assert im.format == "PNG" and im.n_frames == 8 and getattr(im, "is_animated", False)
    frame = _frames(result.path)[3]
    assert _outline_at(frame, result.input_panel, (0,), (3, 4, 5))


def test_transposed_convolution_scatters_the_kernel(tmp_path: Path) -> None:
    x = np.array([[1.0, 2], [3, 4]])
    k = np.array([[1.0, 2, 0], [0, 1, -1]])
    result = animate(x, k, tmp_path / "t.gif", transposed=True, stride=2, padding=1)
    frames = _frames(result.path)
    assert len(frames) == result.total_steps == 4
    trace = scatter_trace(x, k, stride=2, padding=1)
    assert trace.full_shape == (4, 5)
    for n, frame in enumerate(frames, start=1):
        step = trace.step(n)
        assert _outline_at(frame, result.input_panel, *[(p,) for p in step.position])
        assert _outline_at(frame, result.output_panel, *step.taps)


@pytest.mark.parametrize(
    ("shape", "kshape", "kwargs"),
    [
        ((3, 4), (3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
        ((2, 5), (2, 3), {"stride": (1, 3), "dilation": (2, 1), "padding": (0, 2)}),
        ((6,), (4,), {"stride": 3, "padding": 1, "dilation": 2, "output_padding": 2}),
    ],
)
def test_scatter_is_the_adjoint_of_conv(shape, kshape, kwargs) -> None:
    """<conv_transpose(y, w), x> == <y, conv(x, w)>: the scatter is the engine's adjoint."""
    rng = np.random.default_rng(3)
    y, w = rng.standard_normal(shape), rng.standard_normal(kshape)
    out = scatter_trace(y, w, **kwargs).output
    x = rng.standard_normal(out.shape)
    pad = kwargs.get("padding", 0)
    conv = CONV[len(shape)](x[None], w[None, None], None, kwargs.get("stride", 1), pad,
                            kwargs.get("dilation", 1))[0]  # fmt: skip
    assert conv.shape == y.shape
    assert np.vdot(out, x) == pytest.approx(np.vdot(y, conv))


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((SEED_IMAGE, SEED_KERNEL, "x.mp4"), {}, "expected path to end in .gif or .png"),
        ((np.ones((2, 4, 4)), np.ones((1, 2, 3, 3)), "x.gif"), {}, "expected one 1-D or 2-D"),
        ((SEED_IMAGE, SEED_KERNEL, "x.gif"), {"max_frames": 0}, "max_frames to be an integer"),
        ((SEED_IMAGE, SEED_KERNEL, "x.gif"), {"fps": 0}, "fps to be a number in (0, 100]"),
        ((SEED_IMAGE, np.ones((5, 5)), "x.gif"), {}, "expected the dilated kernel (5, 5) to fit"),
        ((SEED_IMAGE, SEED_KERNEL, "x.gif"), {"transposed": True, "output_padding": 1},
         "expected output_padding smaller than stride or dilation"),
        ((SEED_IMAGE, SEED_KERNEL, "x.gif"), {"transposed": True, "padding": 3},
         "expected padding to leave a non-empty output"),
    ],
)  # fmt: skip
def test_animate_refuses_bad_arguments(tmp_path, args, kwargs, message) -> None:
    x, w, name = args
    with pytest.raises(ValueError) as exc:
        animate(x, w, tmp_path / name, **kwargs)
    assert message in str(exc.value)
    assert list(tmp_path.iterdir()) == []


def test_files_are_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "conv.gif"
    target.write_bytes(b"old")
    animate(SEED_IMAGE, SEED_KERNEL, target)
    assert [p.name for p in tmp_path.iterdir()] == ["conv.gif"]
    with Image.open(target) as im:
        assert im.format == "GIF"

"""Generate ``src/fastconv/_numba/winograd_tiles.py``: the Winograd transforms written out.

The transforms of ``fastconv.algorithms.winograd`` multiply small constant matrices; written
as loops over the matrix entries they run at a few GFLOP/s (short inner loops, branches on
zero entries). Written out term by term inside one loop over the channel vector, every
multiply-add is a vector FMA on registers. This script writes those functions from the
matrices (Lavin & Gray 2016), so the two cannot disagree::

    python bench/gen_winograd.py     # rewrites the module; then run the tests
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fastconv.algorithms.winograd_matrices import MATRICES  # noqa: E402


def constants(m: int) -> list[float]:
    """The magnitudes other than 0 and 1 in ``B^T`` and ``A^T``: passed in the data's dtype
    (a Python literal would promote float32 arithmetic to float64 in Numba)."""
    bt, _, at = MATRICES[m]
    return sorted({abs(float(c)) for c in [*bt.ravel(), *at.ravel()]} - {0.0, 1.0})


def used(matrix, consts) -> list[int]:
    """Indices of the constants that ``matrix`` uses."""
    values = {abs(float(c)) for c in matrix.ravel()}
    return [i for i, c in enumerate(consts) if c in values]


def terms(coefs, consts) -> list[tuple[int, str]]:
    """``(index, coefficient)`` of the non-zero entries; coefficients as local names."""
    out = []
    for j, c in enumerate(coefs):
        c = float(c)
        if c == 0:
            continue
        name = "one" if abs(c) == 1 else f"k{consts.index(abs(c))}"
        out.append((j, name if c > 0 else f"-{name}"))
    return out


def call(dest: str, d_off: str, d_step: str, src: str, offsets: list[str], coefs: list[str],
         s_step: str, n: str) -> str:  # fmt: skip
    """``dest[d_off + t*d_step + c] = sum coefs[i] * src[offsets[i] + t*s_step + c]`` for
    every tile ``t < n_tx`` of the strip row and ``c < n``: one call of the small helper of
    that many terms. (A loop per expression and tile written out inline took LLVM 80 s to
    compile; a call per expression and tile cost 2.5x in calls; one call per expression and
    strip row amortises the call over the row.)"""
    args = ", ".join(f"{o}, {k}" for o, k in zip(offsets, coefs))
    return f"_comb{len(offsets)}({dest}, {d_off}, {d_step}, {src}, {args}, {s_step}, n_tx, {n})"


HELPERS = """


@serial
def _comb1(d, do, ds, s, o0, k0, ss, n_t, n):
    for t in range(n_t):
        a = do + u8(t * ds)
        b0 = u8(t * ss)
        for c in range(n):
            b = b0 + u8(c)
            d[a + u8(c)] = k0 * s[o0 + b]


@serial
def _comb2(d, do, ds, s, o0, k0, o1, k1, ss, n_t, n):
    for t in range(n_t):
        a = do + u8(t * ds)
        b0 = u8(t * ss)
        for c in range(n):
            b = b0 + u8(c)
            d[a + u8(c)] = k0 * s[o0 + b] + k1 * s[o1 + b]


@serial
def _comb3(d, do, ds, s, o0, k0, o1, k1, o2, k2, ss, n_t, n):
    for t in range(n_t):
        a = do + u8(t * ds)
        b0 = u8(t * ss)
        for c in range(n):
            b = b0 + u8(c)
            d[a + u8(c)] = k0 * s[o0 + b] + k1 * s[o1 + b] + k2 * s[o2 + b]


@serial
def _comb4(d, do, ds, s, o0, k0, o1, k1, o2, k2, o3, k3, ss, n_t, n):
    for t in range(n_t):
        a = do + u8(t * ds)
        b0 = u8(t * ss)
        for c in range(n):
            b = b0 + u8(c)
            d[a + u8(c)] = k0 * s[o0 + b] + k1 * s[o1 + b] + k2 * s[o2 + b] + k3 * s[o3 + b]


@serial
def _comb5(d, do, ds, s, o0, k0, o1, k1, o2, k2, o3, k3, o4, k4, ss, n_t, n):
    for t in range(n_t):
        a = do + u8(t * ds)
        b0 = u8(t * ss)
        for c in range(n):
            b = b0 + u8(c)
            d[a + u8(c)] = (
                k0 * s[o0 + b] + k1 * s[o1 + b] + k2 * s[o2 + b] + k3 * s[o3 + b] + k4 * s[o4 + b]
            )
"""


def gen_input(m: int) -> str:
    bt = MATRICES[m][0]
    a = m + 2
    consts = constants(m)
    lines = [
        "@serial",
        f"def input_tiles_{m}(xt, wp, C, n_tx, t0, n_tiles, v, ty, k, tmp):",
        f'    """``F({m}x{m}, 3x3)``: ``v[:, t0 + tx, :] = B^T d B`` for the tiles of strip row',
        "    ``ty`` read from the channels-last workspace ``xt`` (row width ``wp``); ``tmp``",
        f'    holds {a * a} * n_tx * C elements; ``k``: 1 and the constants."""',
        "    tf = xt.reshape(-1)",
        "    vf = v.reshape(-1)",
        "    one = k[0]",
        *[f"    k{i} = k[{i + 1}]" for i in used(bt, consts)],
        f"    base = u8(ty * {m} * wp * C)",
    ]
    # row pass: tmp[i, b] = sum_j bt[b, j] d[i, j]
    for i in range(a):
        for b in range(a):
            tj = terms(bt[b], consts)
            offs = [f"base + u8(({i} * wp + {j}) * C)" for j, _ in tj]
            lines.append("    " + call("tmp", f"u8({i * a + b} * n_tx * C)", "C", "tf", offs,
                                        [k for _, k in tj], f"{m} * C", "C"))  # fmt: skip
    # column pass: v[p, b] = sum_i bt[p, i] tmp[i, b]
    for p in range(a):
        for b in range(a):
            ti = terms(bt[p], consts)
            offs = [f"u8({i * a + b} * n_tx * C)" for i, _ in ti]
            lines.append("    " + call("vf", f"u8(({p * a + b} * n_tiles + t0) * C)", "C", "tmp",
                                        offs, [k for _, k in ti], "C", "C"))  # fmt: skip
    return "\n".join(lines) + "\n"


def gen_output(m: int) -> str:
    at = MATRICES[m][2]
    a = m + 2
    consts = constants(m)
    lines = [
        "@serial",
        f"def output_tiles_{m}(mm, t0, n_tx, ot, wo, k, tmp):",
        f'    """``F({m}x{m}, 3x3)``: ``ot[r, tx*{m} + s, :] = (A^T M A)[r, s]`` for the tiles',
        "    ``t0 .. t0 + n_tx`` of ``mm`` (``(alpha*alpha, tiles, O)``); ``tmp`` holds",
        f'    {a * m} * n_tx * O elements; ``k``: 1 and the constants."""',
        "    n_tiles = mm.shape[1]",
        "    og = mm.shape[2]",
        "    mf = mm.reshape(-1)",
        "    tf = ot.reshape(-1)",
        "    one = k[0]",
        *[f"    k{i} = k[{i + 1}]" for i in used(at, consts)],
    ]
    # q[i, s] = sum_b at[s, b] M[i, b]
    for i in range(a):
        for s_ in range(m):
            tb = terms(at[s_], consts)
            offs = [f"u8(({i * a + b} * n_tiles + t0) * og)" for b, _ in tb]
            lines.append("    " + call("tmp", f"u8({i * m + s_} * n_tx * og)", "og", "mf", offs,
                                        [k for _, k in tb], "og", "og"))  # fmt: skip
    # ot[r, tx*m + s] = sum_i at[r, i] q[i, s]
    for r in range(m):
        for s_ in range(m):
            ti = terms(at[r], consts)
            offs = [f"u8({i * m + s_} * n_tx * og)" for i, _ in ti]
            lines.append("    " + call("tf", f"u8(({r} * wo + {s_}) * og)", f"{m} * og", "tmp",
                                        offs, [k for _, k in ti], "og", "og"))  # fmt: skip
    return "\n".join(lines) + "\n"


HEADER = '''"""Winograd tile transforms, written out term by term (generated by
bench/gen_winograd.py from the matrices in ``fastconv.algorithms.winograd_matrices``;
do not edit by hand).

Each function loops over the channel vector innermost, so every multiply-add is a vector FMA.
"""

from __future__ import annotations

from numba import uint64 as u8

from ._config import serial
'''


def main() -> None:
    parts = [HEADER, HELPERS]
    for m in (4, 2):
        parts.append(
            f"\n\n#: ``k`` of the F({m}x{m}, 3x3) functions: 1, then the other constants\n"
        )
        parts.append(f"CONSTANTS_{m} = {(1.0, *constants(m))!r}\n\n")
        parts.append("\n" + gen_input(m) + "\n\n" + gen_output(m))
    path = ROOT / "src" / "fastconv" / "_numba" / "winograd_tiles.py"
    path.write_text("".join(parts))
    import subprocess

    ruff = pathlib.Path(sys.executable).with_name("ruff")
    if ruff.exists():
        subprocess.run([str(ruff), "format", "-q", str(path)], check=False)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Run-time options of fastconv: explicit calls, never environment variables.

The workspace cap has a process-wide value (:func:`set_workspace_limit`) and a per-context
override (:func:`workspace_limit`, a ``contextvars`` context manager), so a ``with`` block in
one thread or task never changes what another one sees.
"""

from __future__ import annotations

import contextlib
import contextvars
import operator
from collections.abc import Iterator

_DEFAULT_WORKSPACE_BYTES = 64 * 2**20
_process_default = {"workspace_bytes": _DEFAULT_WORKSPACE_BYTES}
_override: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "fastconv_workspace_bytes", default=None
)


def get_workspace_limit() -> int:
    """Bytes the GEMM algorithm may use for its window (im2col) buffers; default 64 MiB.

    >>> get_workspace_limit()
    67108864
    """
    override = _override.get()
    return _process_default["workspace_bytes"] if override is None else override


def _checked(fname: str, nbytes: object) -> int:
    try:
        if isinstance(nbytes, bool):  # True is an int to Python, not a size
            raise TypeError
        value = operator.index(nbytes)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{fname}: expected nbytes to be an integer, got nbytes={nbytes!r}"
        ) from None
    if value < 1024:
        raise ValueError(f"{fname}: expected nbytes >= 1024, got nbytes={value}")
    return value


def set_workspace_limit(nbytes: int) -> int:
    """Cap the GEMM algorithm's window buffers at ``nbytes`` (all threads together).

    Sets the process-wide value and returns the previous one. Larger problems are tiled so that
    no buffer exceeds the cap; a smaller cap costs some speed (smaller matrix products), never
    correctness. (Only a product of a single output position with more filters than the cap
    holds would exceed it.) Inside a :func:`workspace_limit` block the block's value wins.

    >>> old = set_workspace_limit(2**20)
    >>> get_workspace_limit()
    1048576
    >>> _ = set_workspace_limit(old)
    """
    value = _checked("set_workspace_limit", nbytes)
    previous = _process_default["workspace_bytes"]
    _process_default["workspace_bytes"] = value
    return previous


@contextlib.contextmanager
def workspace_limit(nbytes: int) -> Iterator[None]:
    """Context manager: cap the window buffers at ``nbytes`` in this thread or task only.

    >>> with workspace_limit(8 * 2**20):
    ...     print(get_workspace_limit())
    8388608
    >>> get_workspace_limit()
    67108864
    """
    token = _override.set(_checked("workspace_limit", nbytes))
    try:
        yield
    finally:
        _override.reset(token)

"""Run-time options of fastconv: explicit calls, never environment variables."""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Iterator

_DEFAULT_WORKSPACE_BYTES = 64 * 2**20
_options = {"workspace_bytes": _DEFAULT_WORKSPACE_BYTES}


def get_workspace_limit() -> int:
    """Bytes the GEMM algorithm may use for its window (im2col) buffers; default 64 MiB.

    >>> get_workspace_limit()
    67108864
    """
    return _options["workspace_bytes"]


def set_workspace_limit(nbytes: int) -> int:
    """Cap the GEMM algorithm's window buffers at ``nbytes`` (all threads together).

    Returns the previous limit. Larger problems are tiled so that no buffer exceeds the cap; a
    smaller cap costs some speed (smaller matrix products), never correctness.

    >>> old = set_workspace_limit(2**20)
    >>> get_workspace_limit()
    1048576
    >>> _ = set_workspace_limit(old)
    """
    try:
        if isinstance(nbytes, bool):  # True is an int to Python, not a size
            raise TypeError
        value = operator.index(nbytes)
    except TypeError:
        raise TypeError(
            f"set_workspace_limit: expected nbytes to be an integer, got nbytes={nbytes!r}"
        ) from None
    if value < 1024:
        raise ValueError(f"set_workspace_limit: expected nbytes >= 1024, got nbytes={value}")
    previous = _options["workspace_bytes"]
    _options["workspace_bytes"] = value
    return previous


@contextlib.contextmanager
def workspace_limit(nbytes: int) -> Iterator[None]:
    """Context manager: :func:`set_workspace_limit` for the ``with`` block only.

    >>> with workspace_limit(8 * 2**20):
    ...     print(get_workspace_limit())
    8388608
    """
    previous = set_workspace_limit(nbytes)
    try:
        yield
    finally:
        set_workspace_limit(previous)

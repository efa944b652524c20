"""Files written atomically: a temporary file in the same folder, then ``os.replace``."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then move it to ``path``.

    A reader never sees a half-written file, and a failure leaves ``path`` as it was. An
    ``OSError`` names ``path`` (not the temporary file).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = atomic_write(os.path.join(tmp, "a.txt"), lambda f: f.write(b"hello"))
    ...     p.read_bytes(), sorted(os.listdir(tmp))
    (b'hello', ['a.txt'])
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target

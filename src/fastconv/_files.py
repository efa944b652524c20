"""Files written atomically: the one writer behind ``fastconv.io`` and ``fastconv.explain``.

The bytes go to a temporary file in the target's folder (so the last step is a rename within
one file system), are flushed to disk, and the file is then moved to its name: a reader never
sees half a file, and a failure leaves the target as it was and no temporary file behind. The
file gets the permissions ``open(path, "w")`` would give it (``0o666`` less the umask).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["atomic_write"]


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[IO[bytes]], object],
    *,
    overwrite: bool = True,
) -> Path:
    """Call ``write(file)`` on a temporary binary file beside ``path``, then move it to ``path``.

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist.
    write : callable
        Called once with the open temporary file (binary, seekable); what it writes becomes the
        content of ``path``. Whatever it raises propagates, after the temporary file is removed.
    overwrite : bool, default True
        Replace an existing ``path`` (``os.replace``). With ``False`` the file is moved into
        place by a hard link, which fails rather than replace a file that exists — also one that
        appeared while ``write`` ran — and a ``FileExistsError`` is raised; where the file
        system has no hard links, an existence check and a rename stand in.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        The temporary file cannot be created, written or moved (a missing folder is a
        ``FileNotFoundError``); the error names ``path``, not the temporary file.
    FileExistsError
        ``overwrite`` is false and ``path`` exists.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = atomic_write(os.path.join(tmp, "a.txt"), lambda f: f.write(b"hello"))
    ...     p.read_bytes(), sorted(os.listdir(tmp))
    (b'hello', ['a.txt'])
    """
    target = Path(os.fspath(path))
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    try:
        fh = open(tmp, "xb")  # O_EXCL; mode 0o666 less the umask, as open(path, "w")
    except OSError as exc:
        raise _naming(exc, target, tmp) from None
    try:
        with fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            _link_no_clobber(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            named = _naming(exc, target, tmp)
            if named is not exc:
                raise named from exc
        raise
    return target


def _naming(exc: OSError, target: Path, tmp: Path) -> OSError:
    """``exc`` naming ``target`` where it names the temporary file or no file at all.

    An error without an ``errno`` (raised by ``write`` itself) and one that names some other
    file are returned unchanged.
    """
    if exc.errno is None or exc.filename not in (None, str(tmp), tmp):
        return exc
    return OSError(exc.errno, exc.strerror, str(target))  # the subclass follows errno


def _link_no_clobber(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target`` unless ``target`` exists, atomically where the file system
    supports hard links (``link`` fails on an existing name; ``rename`` would replace it)."""
    exists = FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise exists from None
    except OSError:  # no hard links here (some network and FAT file systems)
        if target.exists():
            raise exists from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)

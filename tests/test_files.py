"""The one atomic file writer (``fastconv._files``) and the files written through it: images,
animations and text get the permissions ``open(path, "w")`` gives, appear whole or not at all,
and errors name the file asked for."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from fastconv import _files, animate
from fastconv._cli_explain import _write_text
from fastconv._files import atomic_write
from fastconv.io import write_image

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask():
    """Set the process umask for one test (and restore it)."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_new_files_get_the_permissions_open_gives(tmp_path: Path, umask, mask: int) -> None:
    umask(mask)
    with open(tmp_path / "by-open.txt", "w") as fh:
        fh.write("x")
    atomic_write(tmp_path / "atomic.bin", lambda fh: fh.write(b"x"))
    atomic_write(tmp_path / "no-clobber.bin", lambda fh: fh.write(b"x"), overwrite=False)
    write_image(tmp_path / "image.png", np.zeros((2, 2), np.uint8))
    write_image(tmp_path / "image16.tif", np.zeros((2, 2, 3), np.uint16))
    write_image(tmp_path / "image16.png", np.zeros((2, 2, 4), np.uint16))
    animate(np.arange(9.0).reshape(3, 3), np.ones((2, 2)), tmp_path / "conv.gif")
    _write_text("some text", str(tmp_path / "steps.txt"))
    expected = 0o666 & ~mask
    assert mode(tmp_path / "by-open.txt") == expected
    modes = {p.name: mode(p) for p in tmp_path.iterdir()}
    assert modes == dict.fromkeys(modes, expected)
    assert len(modes) == 8


def test_content_and_no_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    assert atomic_write(str(target), lambda fh: fh.write(b"one")) == target
    atomic_write(target, lambda fh: fh.write(b"two"))  # replaces by default
    assert target.read_bytes() == b"two"
    with pytest.raises(FileExistsError) as exc:
        atomic_write(target, lambda fh: fh.write(b"three"), overwrite=False)
    assert exc.value.filename == str(target)
    assert target.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_the_writer_gets_a_named_seekable_binary_file(tmp_path: Path) -> None:
    seen = {}

    def write(fh) -> None:
        fh.write(b"abcdef")
        fh.seek(1)
        fh.write(b"X")
        seen["name"] = Path(fh.name)

    atomic_write(tmp_path / "b.bin", write)
    assert (tmp_path / "b.bin").read_bytes() == b"aXcdef"
    assert seen["name"].parent == tmp_path and seen["name"].name.startswith(".b.bin.")


def test_a_failing_writer_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "keep.txt"
    target.write_bytes(b"old")

    def write(fh) -> None:
        fh.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, write)
    with pytest.raises(OSError, match="disk full"):  # no errno: passed on as it is
        atomic_write(target, lambda fh: (_ for _ in ()).throw(OSError("disk full")))
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_errors_name_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "x.txt"
    with pytest.raises(FileNotFoundError) as exc:
        atomic_write(missing, lambda fh: fh.write(b"x"))
    assert exc.value.filename == str(missing) and exc.value.filename2 is None
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "inside").write_text("x")
    with pytest.raises(OSError) as exc:  # a rename cannot replace a folder
        atomic_write(folder, lambda fh: fh.write(b"x"))
    assert exc.value.errno is not None and exc.value.filename == str(folder)
    assert sorted(os.listdir(tmp_path)) == ["folder"]

    def other_file(fh) -> None:
        open(tmp_path / "elsewhere.txt")  # an error about another file is not renamed

    with pytest.raises(FileNotFoundError) as exc:
        atomic_write(tmp_path / "y.txt", other_file)
    assert exc.value.filename == str(tmp_path / "elsewhere.txt")


def test_without_hard_links_the_no_clobber_move_still_refuses(tmp_path, monkeypatch) -> None:
    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(_files.os, "link", no_links)
    target = tmp_path / "c.txt"
    atomic_write(target, lambda fh: fh.write(b"one"), overwrite=False)
    with pytest.raises(FileExistsError):
        atomic_write(target, lambda fh: fh.write(b"two"), overwrite=False)
    assert target.read_bytes() == b"one"
    assert os.listdir(tmp_path) == ["c.txt"]


def test_a_file_appearing_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "race.png"

    def write(fh) -> None:
        fh.write(b"mine")
        target.write_bytes(b"theirs")  # another process wins the race

    with pytest.raises(FileExistsError):
        atomic_write(target, write, overwrite=False)
    assert target.read_bytes() == b"theirs"
    assert os.listdir(tmp_path) == ["race.png"]

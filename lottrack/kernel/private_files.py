"""Files the program writes (design §6.9): the service account's alone.

Every file lottrack creates — the SQLite database, the facility key and certificate,
checkpoints, exports, backups, issued documents — is made here: readable by its owner
only (0600) in folders that are the owner's only (0700 when lottrack creates them). Its
content goes to a temporary file in the same folder, created exclusively (``O_EXCL``)
and never through a symbolic link (``O_NOFOLLOW``), then renamed over the target: a
link planted under any name lottrack might use is never followed, and a crash never
leaves half a file under the target's name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from lottrack.kernel.errors import LotTrackError, ValidationError

FILE_MODE = 0o600
DIR_MODE = 0o700
_EXCLUSIVE = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


class FileRefused(LotTrackError):
    """A file could not be written safely; nothing was written under its name."""

    title = "File not written"


def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """``path`` as a folder, creating it and any missing parents 0700. An existing folder
    keeps its mode unless ``tighten`` (for lottrack's own folders: data, keys,
    checkpoints), which makes it 0700."""
    path = Path(path).expanduser()
    missing = []
    probe = path
    try:
        while not probe.exists() and probe != probe.parent:
            missing.append(probe)
            probe = probe.parent
        for folder in reversed(missing):
            folder.mkdir(mode=DIR_MODE)
            os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
        if not path.is_dir():
            raise ValidationError(f"Output folder: {path} is not a folder.", field="output")
        if tighten and stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, DIR_MODE)
    except FileExistsError:  # another process made it meanwhile: fine
        pass
    except OSError as exc:
        raise ValidationError(
            f"Output folder: cannot create {path}: {exc.strerror or exc}.", field="output"
        ) from None
    return path


def _open_exclusive(path: str, _flags: int) -> int:
    return os.open(path, _EXCLUSIVE, FILE_MODE)


def create_private(path: Path) -> None:
    """Create ``path`` empty and 0600 unless it exists (never through a symbolic link):
    for a file another library then fills in place, such as a SQLite database."""
    with contextlib.suppress(FileExistsError):
        os.close(_open_exclusive(str(path), 0))


@contextlib.contextmanager
def replacing(path: Path, *, overwrite: bool = True) -> Iterator[BinaryIO]:
    """A binary handle on a new private temporary file beside ``path``; when the block
    ends without error the content is flushed to disk and the file renamed to ``path``
    (with ``overwrite`` False, refused when ``path`` exists), else it is removed.

    A symbolic link at ``path`` is refused rather than replaced."""
    path = Path(path).expanduser()
    folder = path.parent
    if not folder.is_dir():
        raise ValidationError(f"Output: the folder {folder} does not exist.", field="output")
    if path.is_symlink():
        raise FileRefused(
            f"{path} is a symbolic link; lottrack never writes through one. "
            "Remove it or choose another name."
        )
    if not overwrite and path.exists():
        raise ValidationError(f"Output: {path} already exists; choose a new name.", field="output")
    tmp = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        handle = open(tmp, "wb", opener=_open_exclusive)  # noqa: SIM115 - closed below
    except OSError as exc:
        raise FileRefused(f"Cannot write into {folder}: {exc.strerror or exc}.") from None
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _rename(tmp, path, overwrite=overwrite)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_folder(folder)


def temporary_path(handle: BinaryIO) -> Path:
    """The temporary file behind a :func:`replacing` handle, for a tool that writes by
    name (the SQLite backup API, ``pg_dump --file``): it exists, is private and is not a
    link."""
    return Path(str(handle.name))


def write_private(path: Path, content: bytes, *, overwrite: bool = True) -> Path:
    """Write ``content`` to ``path`` through :func:`replacing`."""
    with replacing(path, overwrite=overwrite) as handle:
        handle.write(content)
    return Path(path)


def _rename(tmp: Path, path: Path, *, overwrite: bool) -> None:
    try:
        if overwrite:
            os.replace(tmp, path)
        else:  # link() never replaces an existing name: no check-then-write race
            os.link(tmp, path)
            os.unlink(tmp)
    except FileExistsError:
        raise ValidationError(
            f"Output: {path} already exists; choose a new name.", field="output"
        ) from None
    except OSError as exc:
        raise FileRefused(f"Cannot write {path}: {exc.strerror or exc}.") from None


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def tighten(path: Path) -> None:
    """Make an existing file of lottrack's private (0600, or 0700 for a folder)."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_symlink():
            return
        os.chmod(path, DIR_MODE if path.is_dir() else FILE_MODE)

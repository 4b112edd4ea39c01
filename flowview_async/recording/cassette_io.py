"""The file side of a cassette: bounded reads of regular files only, and durable atomic writes.

- Reading opens without blocking (a FIFO with no writer), reads only a regular file, and never
  more than :data:`MAX_CASSETTE_BYTES` (``FLOWVIEW_MAX_CASSETTE_BYTES`` overrides it).
- Writing goes to the end of a symlink chain (the link stays a link), keeps the permission bits
  of the file it replaces (a new file gets 0o666 less the umask), is fsynced before the rename and
  the directory after it, and happens under an exclusive lock so that concurrent recorders take
  turns (each one merging what the previous one saved; see ``save_cassette_file``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from flowview_async.errors import CassetteFormatError

try:  # POSIX; elsewhere saves are not serialised (each still merges what it finds)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["MAX_CASSETTE_BYTES", "final_target", "locked", "max_cassette_bytes", "read_bounded",
           "write_atomically"]

# 10,000 recorded inspections take ~40 MB; a bigger file is a mistake (or /dev/zero).
MAX_CASSETTE_BYTES = 256 * 1024 * 1024


def max_cassette_bytes() -> int:
    """:data:`MAX_CASSETTE_BYTES`, or ``FLOWVIEW_MAX_CASSETTE_BYTES`` when set to a number."""
    value = os.environ.get("FLOWVIEW_MAX_CASSETTE_BYTES", "").strip()
    return int(value) if value.isdigit() else MAX_CASSETTE_BYTES


def read_bounded(path: Path) -> bytes | None:
    """The file's bytes; ``None`` if it does not exist. Only a regular file is read, never more
    than the size bound, and opening never blocks (a FIFO with no writer)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CassetteFormatError(f"Cassette {path} is a directory; give a file path.") from None
    except OSError as exc:
        msg = f"Cassette {path} cannot be read ({exc.strerror}). Check the path and its permissions."
        raise CassetteFormatError(msg) from None
    limit = max_cassette_bytes()
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise CassetteFormatError(f"Cassette {path} is a directory; give a file path.")
        if not stat.S_ISREG(info.st_mode):
            msg = (f"Cassette {path} is not a regular file (a device, FIFO or socket); a cassette "
                   "is a .json or .yaml file.")
            raise CassetteFormatError(msg)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        msg = f"Cassette {path} cannot be read ({exc.strerror})."
        raise CassetteFormatError(msg) from None
    finally:
        os.close(fd)
    if size > limit:
        msg = (f"Cassette {path} is larger than {limit:,} bytes; refusing to load it. Split the "
               "recording, or raise FLOWVIEW_MAX_CASSETTE_BYTES if it is really that big.")
        raise CassetteFormatError(msg)
    return b"".join(chunks)


def final_target(path: Path) -> Path:
    """The file a write to ``path`` must replace: the end of its symlink chain, if it is one
    (replacing the link itself would turn a shared cassette into a private copy)."""
    if not path.is_symlink():
        return path
    try:
        return path.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # a symlink loop
        msg = f"Cassette {path} is a symlink that cannot be followed ({exc})."
        raise CassetteFormatError(msg) from None


@contextlib.contextmanager
def locked(target: Path) -> Iterator[None]:
    """Hold an exclusive lock for saving ``target``: concurrent recorders (threads or processes)
    take turns, so each one merges what the previous one saved.

    The lock is on the directory, not on the file, because a save replaces the file (a lock on
    the old inode would not exclude a saver that opened the new one) and because a lock file
    would be left behind next to every cassette.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(target.parent, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_atomically(target: Path, text: str) -> None:
    """Write next to ``target`` and rename over it: a crash never leaves a truncated cassette."""
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None  # a new file: 0o666 less the umask, as any file the user creates
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            if mode is not None:
                os.fchmod(stream.fileno(), mode)
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); platforms that cannot open a directory skip it."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on a directory
        pass
    finally:
        os.close(fd)

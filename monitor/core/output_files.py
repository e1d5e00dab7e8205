"""`--out PATH`: the format a file name asks for, and writing it without harm.

A report is written to a temporary file in the same folder and then renamed over the
path, so a reader never sees half a file and a failed render leaves the old one. Only a
regular file is replaced (keeping its permission bits); a symbolic link, folder, device,
FIFO or socket at the path is refused, never written through. A missing folder is created.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from monitor.core.errors import MonitorError

# File extensions and the format each one means.
EXTENSION_FORMATS = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


class OutputRefused(MonitorError):
    """`--out` names something that must not be replaced, or a folder that cannot be made."""


def format_for(out: Path | None, given: str | None, allowed: tuple[str, ...], default: str) -> str:
    """The format to write: `--format` if given, else the one `out`'s extension names.

    A `--format` that contradicts the extension (`--format pdf --out x.html`) and an
    extension naming a format this command cannot write are errors; a file name without
    a known extension gets `default`.
    """
    named = EXTENSION_FORMATS.get(out.suffix.lower()) if out is not None else None
    if given is not None:
        if given not in allowed:
            raise OutputRefused(f"unknown format {given!r}; use {_choices(allowed)}")
        if named is not None and named != given:
            raise OutputRefused(
                f"--format {given} contradicts the file name {str(out)!r}: "
                f"name the file .{_extension(given)} or leave out --format"
            )
        return given
    if named is None:
        return default
    if named not in allowed:
        raise OutputRefused(
            f"cannot write {named} here ({str(out)!r}): name the file "
            f"{_choices(['.' + _extension(f) for f in allowed])}"
        )
    return named


def _choices(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _extension(fmt: str) -> str:
    return {"table": "txt"}.get(fmt, fmt)


def check_target(path: Path) -> os.stat_result | None:
    """The stat of the regular file at `path`, None when nothing is there; OutputRefused for
    a symbolic link, folder, device, FIFO or socket."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(info.st_mode):
        return info
    if stat.S_ISLNK(info.st_mode):
        kind = "a symbolic link"
    elif stat.S_ISDIR(info.st_mode):
        kind = "a folder"
    elif stat.S_ISFIFO(info.st_mode):
        kind = "a FIFO"
    elif stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        kind = "a device"
    else:
        kind = "not a regular file"
    raise OutputRefused(f"--out {str(path)!r} is {kind}; refusing to replace it: name a file")


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path next to `path` to write to; on success it replaces `path`.

    The folder is created when missing. An existing regular file keeps its permission
    bits (a read-only report stays read-only); a new file gets the default ones (umask).
    On any error the temporary file is removed and `path` is left as it was.
    """
    path = Path(path).expanduser()
    check_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputRefused(f"--out {str(path)!r}: {str(path.parent)!r} is not a folder") from None
    except OSError as exc:
        raise OutputRefused(
            f"--out {str(path)!r}: cannot create the folder {str(path.parent)!r} "
            f"({(exc.strerror or type(exc).__name__).lower()})"
        ) from None
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise OutputRefused(
            f"--out {str(path)!r}: cannot write in {str(path.parent)!r} "
            f"({(exc.strerror or type(exc).__name__).lower()})"
        ) from None
    try:
        yield temporary
        existing = check_target(path)
        if existing is not None:
            os.chmod(temporary, stat.S_IMODE(existing.st_mode))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_text(path: Path | str) -> Iterator:
    """`atomic_path` opened as a UTF-8 text file (newline as written)."""
    with atomic_path(path) as temporary, temporary.open("w", encoding="utf-8", newline="") as out:
        yield out

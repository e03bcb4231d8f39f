"""Which files of a job folder may be read: regular files that stay inside the job folder.

A symlink in a job folder may point anywhere (a secret key, ``/etc/passwd``, another user's data). Such a
file is not read, copied or hashed unless the user asks for it (``build --follow-symlinks``); a symlink
resolving inside its own job folder is harmless and followed. Only regular files count: FIFOs, sockets
and devices are never opened (reading a FIFO would block the build forever).

The choice is a context variable so that every reader of ``io`` honours it without an extra argument on
each function; a build sets it for each job with :func:`following_symlinks`.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

_FOLLOW = contextvars.ContextVar("rapid_croissant_follow_symlinks", default=False)


@contextlib.contextmanager
def following_symlinks(follow: bool) -> Iterator[None]:
    """Within this block, symlinks leaving the job folder are followed when ``follow`` is true."""
    token = _FOLLOW.set(bool(follow))
    try:
        yield
    finally:
        _FOLLOW.reset(token)


def follow_symlinks() -> bool:
    return _FOLLOW.get()


def is_inside(path: str | Path, root: str | Path) -> bool:
    """True when ``path``, with every symlink resolved, lies in ``root`` (also resolved)."""
    try:
        Path(path).resolve(strict=False).relative_to(Path(root).resolve(strict=False))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return False
    return True


def escapes(path: str | Path, root: str | Path | None = None) -> bool:
    """True when ``path`` (a symlink, or under one) resolves outside ``root`` (default: its folder)."""
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    if root == path.parent and path.name not in ("", ".", "..") and not path.is_symlink():
        return False  # it resolves to resolve(its folder)/name: one lstat instead of two full resolves
    return not is_inside(path, root)


def is_regular(path: str | Path) -> bool:
    """A regular file once symlinks are resolved (not a FIFO, socket, device or folder); never raises."""
    try:
        return stat.S_ISREG(Path(path).stat().st_mode)
    except (OSError, ValueError, RuntimeError):
        return False


def usable_file(path: str | Path, root: str | Path | None = None) -> bool:
    """A regular file that may be read: inside ``root`` (default: its folder), or symlinks are followed."""
    path = Path(path)
    if not is_regular(path):
        return False
    return follow_symlinks() or not escapes(path, root)


def blocked_files(folder: str | Path) -> list[str]:
    """Names of the entries of ``folder`` that are not read: links leaving it, and non-regular files."""
    folder = Path(folder)
    out = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return out
    for p in entries:
        if p.is_dir() and not p.is_symlink():
            continue
        if p.is_symlink() and not follow_symlinks() and escapes(p, folder):
            out.append(p.name)
        elif not p.is_dir() and not is_regular(p):
            out.append(p.name)
    return out

"""One clean line for every error that reaches the command line: the file and the problem, exit code 1.

A traceback is printed only with ``-vv``. Library errors already name the job and file; for operating
system errors (permissions, a full disk, a path too long), corrupt JSON / Parquet / npy files and an
unreachable Dask scheduler the file is taken from the exception, or else from the innermost frame of our
own code that was handling a path when it failed.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import traceback
from pathlib import Path

import click

from rapid_croissant.errors import Interrupted, RapidCroissantError

log = logging.getLogger(__name__)

_ERRNO_TEXT = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENAMETOOLONG: "file name too long",
    errno.EROFS: "read-only file system",
    errno.ENOENT: "no such file or directory",
    errno.ENOTDIR: "not a directory",
    errno.EISDIR: "is a directory",
    errno.EEXIST: "already exists",
}
_FILE_SUFFIXES = (".json", ".parquet", ".npy", ".csv", ".fits", ".txt", ".toml", ".pt", ".html", ".md")


def _file_from_traceback(exc: BaseException) -> str | None:
    """The path-like local of the innermost frame of our own code that has one: the file being handled."""
    frames, tb = [], exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    ours = [f for f in frames if "rapid_croissant" in f.f_code.co_filename]
    if not ours:
        return None
    frame = ours[-1]  # only the innermost frame of our code: an outer one may hold another file's path
    for name in ("path", "file", "p", "src", "dst", "target", "manifest", "croissant_path"):
        value = frame.f_locals.get(name)
        if isinstance(value, Path | str) and str(value).endswith(_FILE_SUFFIXES):
            return str(value)
    return None


def _os_error(exc: OSError) -> str:
    text = _ERRNO_TEXT.get(exc.errno or -1) or exc.strerror or str(exc) or type(exc).__name__
    where = exc.filename or _file_from_traceback(exc)
    if exc.filename2:
        where = f"{exc.filename} -> {exc.filename2}"
    if "connect" in str(exc).lower() or isinstance(exc, TimeoutError):
        return f"cannot reach the Dask scheduler or service: {exc}"
    return f"{where}: {text}" if where else text


def _kind(exc: BaseException) -> str | None:
    """What kind of corrupt file an exception means, from its type and module (pyarrow, numpy, pickle)."""
    mod = type(exc).__module__ or ""
    if isinstance(exc, json.JSONDecodeError):
        return "corrupt JSON"
    if mod.startswith("pyarrow"):
        return "corrupt or unreadable Parquet/Arrow file"
    if type(exc).__name__ in ("UnpicklingError",) or "pickle" in str(exc).lower():
        return "corrupt npy file (not a numpy array)"
    if mod.startswith("tomllib") or type(exc).__name__ == "TOMLDecodeError":
        return "corrupt TOML"
    if "numpy" in mod or "npy" in str(exc).lower() or "array header" in str(exc).lower():
        return "corrupt npy file"
    return None


def one_line(exc: BaseException) -> str:
    """The message a user sees for ``exc``: one line naming the file (when known) and the problem."""
    if isinstance(exc, RapidCroissantError):
        return str(exc)
    if isinstance(exc, OSError):
        return _os_error(exc)
    kind = _kind(exc)
    where = _file_from_traceback(exc)
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if kind:
        return f"{where}: {kind} ({detail})" if where else f"{kind} ({detail})"
    prefix = f"{where}: " if where else ""
    return f"{prefix}unexpected {type(exc).__name__}: {detail} (run with -vv for the traceback)"


def report_and_exit(exc: BaseException, *, verbose: int) -> None:
    """Print ``exc`` as one line (and the traceback with -vv) and exit with code 1 (130 when interrupted)."""
    if verbose >= 2:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, KeyboardInterrupt):
        click.echo(
            "error: interrupted; finished work is kept, run the same command again to resume", err=True
        )
        sys.exit(130)
    click.echo(f"error: {one_line(exc)}", err=True)
    sys.exit(130 if isinstance(exc, Interrupted) else 1)


def verbosity_from_env(default: int = 0) -> int:
    """-vv for the seed scripts, which have no verbose option: RAPID_CROISSANT_DEBUG=1 prints tracebacks."""
    return 2 if os.environ.get("RAPID_CROISSANT_DEBUG") else default


def run_clean(command: click.Command, *, prog_name: str, args=None) -> None:
    """Run a click command as a script (the seed's entry points) with the same clean errors as the CLI."""
    try:
        rv = command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except SystemExit:
        raise
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the one place errors become a line
        report_and_exit(exc, verbose=verbosity_from_env())
    sys.exit(rv if isinstance(rv, int) else 0)

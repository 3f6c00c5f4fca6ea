"""Files a run writes: every table as CSV, JSON records and Parquet (when pandas has an
engine), in an output folder that is swapped in whole so it is never half-written."""

from __future__ import annotations

import hashlib
import os
import shutil
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from harness.errors import HarnessError

FORMATS = ("csv", "json", "parquet")


def parquet_engine() -> str | None:
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
            return engine
        except ImportError:
            continue
    return None


def write_frames(
    directory: str | Path, frames: dict[str, pd.DataFrame], formats: Iterable[str] = FORMATS
) -> list[Path]:
    """NAME.csv, NAME.json (records) and NAME.parquet for each frame; empty frames have no Parquet."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    formats = tuple(formats)
    engine = parquet_engine() if "parquet" in formats else None
    written = []
    for name, frame in frames.items():
        if "csv" in formats:
            path = directory / f"{name}.csv"
            frame.to_csv(path, index=False)
            written.append(path)
        if "json" in formats:
            path = directory / f"{name}.json"
            path.write_text(frame.to_json(orient="records", indent=1, default_handler=str) + "\n")
            written.append(path)
        if engine and not frame.empty:
            path = directory / f"{name}.parquet"
            frame.to_parquet(path, index=False, engine=engine)
            written.append(path)
    return written


def read_frame(directory: str | Path, name: str, prefer: str = "parquet") -> pd.DataFrame:
    """A table written by :func:`write_frames`: Parquet where present (types kept), else CSV."""
    directory = Path(directory)
    parquet = directory / f"{name}.parquet"
    if prefer == "parquet" and parquet.is_file() and parquet_engine():
        return pd.read_parquet(parquet)
    path = directory / f"{name}.csv"
    if not path.is_file() or path.stat().st_size <= 1:
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


MARKER = ".harness-output"


def _entries_outside(folder: Path, patterns: Iterable[str]) -> list[str]:
    """Entries of a folder that no run of this kind writes (patterns are fnmatch globs)."""
    patterns = tuple(patterns)
    return sorted(
        entry.name + ("/" if entry.is_dir() else "")
        for entry in folder.iterdir()
        if entry.name != MARKER and not any(fnmatch(entry.name + ("/" if entry.is_dir() else ""), p) for p in patterns)
    )


NAME_MAX = 255  # bytes in one file name, on the file systems a run writes to


def hidden_name(name: str, kind: str) -> str:
    """``.NAME.KIND-`` (a PID follows), the hidden name of a folder's temporary copy; a name
    too long to carry both is replaced by its hash, so the hidden name still fits NAME_MAX."""
    hidden = f".{name}.{kind}-"
    if len(hidden.encode()) + 12 > NAME_MAX:
        hidden = f".harness-{hashlib.sha256(name.encode()).hexdigest()[:16]}.{kind}-"
    return hidden


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """The folder locked against other harness processes for a moment (flock on the folder
    itself, so nothing is left behind; released when the process dies)."""
    try:
        import fcntl
    except ImportError:  # no flock: the live-partial check alone
        yield
        return
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:  # a file system without flock: the live-partial check alone
            pass
        yield
    finally:
        os.close(handle)


def _restore_interrupted(target: Path) -> None:
    """Leftovers of a run killed while it swapped folders: the partial folder of a dead
    process is dropped; an earlier run moved aside is put back if nothing replaced it. A
    partial folder whose process is alive is another run writing this folder: refused."""
    for partial in target.parent.glob(hidden_name(target.name, "partial") + "*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            raise HarnessError(f"another run is writing {target}: wait for it to finish, or choose another folder")
        shutil.rmtree(partial, ignore_errors=True)
    for old in sorted(target.parent.glob(hidden_name(target.name, "old") + "*")):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue  # another run in the middle of its swap
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(old, target)


@contextmanager
def output_folder(target: str | Path, patterns: Iterable[str]) -> Iterator[Path]:
    """A folder to write one run's files into, swapped in whole when the block ends.

    A reader never finds a half-written folder, and nothing of an earlier run is left
    behind. An existing folder is replaced only when everything in it is of the kinds a run
    writes (``patterns``); anything else in it is the user's, and the run is refused. A
    second run into a folder that another live run is writing is refused.
    """
    target = Path(target)
    if len(target.name.encode()) > NAME_MAX:
        raise HarnessError(
            f"output folder name {target.name[:40]}... is {len(target.name.encode())} bytes: "
            f"a file name holds at most {NAME_MAX}"
        )
    if target.exists() and not target.is_dir():
        raise HarnessError(f"output path {target} is a file, not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f"{hidden_name(target.name, 'partial')}{os.getpid()}"
    with _locked(target.parent):
        _restore_interrupted(target)
        if target.exists():
            foreign = _entries_outside(target, patterns)
            if foreign:
                raise HarnessError(
                    f"output folder {target} holds {', '.join(foreign[:3])}, which harness did not write: "
                    "choose another folder (a run replaces its folder whole)"
                )
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
    try:
        yield partial
        (partial / MARKER).write_text("written by harness; the folder is replaced whole by the next run\n")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    old = target.parent / f"{hidden_name(target.name, 'old')}{os.getpid()}"
    with _locked(target.parent):
        if target.exists():
            os.rename(target, old)
        os.rename(partial, target)
    shutil.rmtree(old, ignore_errors=True)


class FreshFolder:
    """A new folder under PARENT, written whole and never over another: the files go into a
    hidden partial folder, renamed at the end to NAME, or NAME-2, NAME-3, ... when NAME is
    taken (a rename never replaces a folder that holds anything). A run that fails or is
    killed leaves no folder under a visible name; the partial folders of dead processes are
    removed by the next one.

        with FreshFolder(parent, "20250101T120000Z-query") as fresh:
            write(fresh.partial)
        fresh.path  # the folder's final name
    """

    def __init__(self, parent: str | Path, name: str):
        self.parent = Path(parent)
        self.name = name
        self.partial = self.parent / f".{name}.partial-{os.getpid()}"
        self.path: Path | None = None

    def __enter__(self) -> "FreshFolder":
        if self.parent.exists() and not self.parent.is_dir():
            raise HarnessError(f"{self.parent} is a file, not a folder")
        self.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_partials(self.parent)
        shutil.rmtree(self.partial, ignore_errors=True)
        self.partial.mkdir()
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None:
            shutil.rmtree(self.partial, ignore_errors=True)
            return
        (self.partial / MARKER).write_text("written by harness\n")
        for attempt in range(1, 1000):
            target = self.parent / (self.name if attempt == 1 else f"{self.name}-{attempt}")
            if target.exists():
                continue
            try:
                os.rename(self.partial, target)
            except OSError:  # taken a moment ago by another process
                continue
            self.path = target
            return
        raise HarnessError(f"no free folder name for {self.name} in {self.parent}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


def remove_dead_partials(parent: Path) -> None:
    """Partial folders (``.NAME.partial-PID``) whose process is gone: a run killed mid-write."""
    for partial in parent.glob(".*.partial-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def replace_file(path: str | Path, text: str) -> Path:
    """Write a text file whole: a temporary file beside it, renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def replace_copy(source: str | Path, path: str | Path) -> Path:
    """Copy a file whole over PATH: a temporary copy beside it, renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path

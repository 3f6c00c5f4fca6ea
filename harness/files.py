"""Files a run writes: every table as CSV, JSON records and Parquet (when pandas has an
engine), in an output folder that is swapped in whole so it is never half-written."""

from __future__ import annotations

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


def _restore_interrupted(target: Path) -> None:
    """Leftovers of a run killed while it swapped folders: a partial folder is dropped; an
    earlier run moved aside is put back if nothing replaced it."""
    for partial in target.parent.glob(f".{target.name}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)
    for old in sorted(target.parent.glob(f".{target.name}.old-*")):
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(old, target)


@contextmanager
def output_folder(target: str | Path, patterns: Iterable[str]) -> Iterator[Path]:
    """A folder to write one run's files into, swapped in whole when the block ends.

    A reader never finds a half-written folder, and nothing of an earlier run is left
    behind. An existing folder is replaced only when everything in it is of the kinds a run
    writes (``patterns``); anything else in it is the user's, and the run is refused.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise HarnessError(f"output path {target} is a file, not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    _restore_interrupted(target)
    if target.exists():
        foreign = _entries_outside(target, patterns)
        if foreign:
            raise HarnessError(
                f"output folder {target} holds {', '.join(foreign[:3])}, which harness did not write: "
                "choose another folder (a run replaces its folder whole)"
            )
    partial = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        yield partial
        (partial / MARKER).write_text("written by harness; the folder is replaced whole by the next run\n")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.rename(target, old)
    os.rename(partial, target)
    shutil.rmtree(old, ignore_errors=True)


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

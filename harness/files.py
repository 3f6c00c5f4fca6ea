"""Tables as files: every frame as CSV, JSON records and Parquet (when pandas has an engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

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


def read_frame(directory: str | Path, name: str) -> pd.DataFrame:
    """A table written by :func:`write_frames`: Parquet where present (types kept), else CSV."""
    directory = Path(directory)
    parquet = directory / f"{name}.parquet"
    if parquet.is_file() and parquet_engine():
        return pd.read_parquet(parquet)
    path = directory / f"{name}.csv"
    if not path.is_file() or path.stat().st_size <= 1:
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()

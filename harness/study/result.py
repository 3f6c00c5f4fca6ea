"""A study's result: its tables by name, the run manifest and the notes; saved as files and
read back with the same types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import HarnessError
from harness.files import read_frame, write_frames
from harness.study.measures import TABLES

STUDY_FILE = "study.json"


class Study:
    """Tables (``study.tables["cost"]``, or ``study.cost``), ``manifest`` and ``warnings``."""

    def __init__(
        self,
        tables: dict[str, pd.DataFrame] | None = None,
        manifest: dict | None = None,
        warnings: list[str] | None = None,
    ):
        given = tables or {}
        # Every registered table (empty when not measured), then any other measure's own.
        self.tables = {name: given.get(name, pd.DataFrame()) for name in TABLES}
        self.tables.update({name: frame for name, frame in given.items() if name not in self.tables})
        self.manifest = manifest or {}
        self.warnings = list(warnings or [])

    def __getattr__(self, name: str) -> Any:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in TABLES and "tables" in self.__dict__:
            self.tables[name] = value
        else:
            super().__setattr__(name, value)

    def save(self, directory: str | Path, extra: dict | None = None) -> list[Path]:
        """Every table as CSV, JSON and Parquet, and study.json (manifest, notes, table list)."""
        directory = Path(directory)
        written = write_frames(directory, self.tables)
        path = directory / STUDY_FILE
        record = {
            "manifest": self.manifest,
            "warnings": self.warnings,
            "tables": list(self.tables),
            "rows": {name: len(frame) for name, frame in self.tables.items()},
            **(extra or {}),
        }
        path.write_text(json.dumps(record, indent=2, default=str) + "\n")
        written.append(path)
        return written


def empty_study(manifest: dict | None = None) -> Study:
    return Study(manifest=manifest)


def _read_checked(directory: Path, name: str, rows: int | None) -> pd.DataFrame:
    """A table, checked against the row count study.json recorded (a truncated CSV can parse)."""
    try:
        frame = read_frame(directory, name)
        csv_rows = len(read_frame(directory, name, prefer="csv"))
    except (ValueError, OSError) as exc:
        raise HarnessError(f"study folder {directory}: {name} is unreadable ({str(exc).splitlines()[0]})") from None
    for count, what in ((len(frame), "its files"), (csv_rows, f"{name}.csv")):
        if rows is not None and count != rows:
            raise HarnessError(
                f"study folder {directory}: {what} hold {count} rows of {name}, study.json records {rows}: "
                "the folder was changed or cut short; run harness evaluate again"
            )
    return frame


def load_study(directory: str | Path) -> Study:
    """Read a study written by :meth:`Study.save` (Parquet where present, else CSV).

    The folder is checked against the table list its study.json records: a missing or
    unreadable table is an error, never a report with a table silently left out."""
    directory = Path(directory)
    path = directory / STUDY_FILE
    if not path.is_file():
        raise HarnessError(f"{directory} holds no study (no study.json): run harness evaluate --output {directory}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HarnessError(
            f"{path} is not a readable study ({exc}): run harness evaluate --output {directory}"
        ) from None
    if not isinstance(record, dict) or not isinstance(record.get("tables"), list):
        raise HarnessError(f"{path} is not a harness study (no table list): run harness evaluate --output {directory}")
    tables = {}
    for name in record["tables"]:
        if not (directory / f"{name}.csv").is_file():
            raise HarnessError(f"study folder {directory} lacks {name}.csv, which its study.json lists")
        if name in TABLES:
            tables[name] = _read_checked(directory, name, (record.get("rows") or {}).get(name))
    manifest = record.get("manifest") if isinstance(record.get("manifest"), dict) else {}
    return Study(tables, manifest=manifest, warnings=list(record.get("warnings") or []))

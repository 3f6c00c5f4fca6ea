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
        self.tables = {name: given.get(name, pd.DataFrame()) for name in TABLES}
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
        record = {"manifest": self.manifest, "warnings": self.warnings, "tables": list(self.tables), **(extra or {})}
        path.write_text(json.dumps(record, indent=2, default=str) + "\n")
        written.append(path)
        return written


def empty_study(manifest: dict | None = None) -> Study:
    return Study(manifest=manifest)


def load_study(directory: str | Path) -> Study:
    """Read a study written by :meth:`Study.save` (Parquet where present, else CSV)."""
    directory = Path(directory)
    path = directory / STUDY_FILE
    if not path.is_file():
        raise HarnessError(f"{directory} holds no study (no study.json): run harness evaluate --output {directory}")
    record = json.loads(path.read_text())
    tables = {name: read_frame(directory, name) for name in TABLES}
    return Study(tables, manifest=record.get("manifest", record), warnings=record.get("warnings", []))

"""An alignment's result: its tables, the fitted maps, the best of them, the migration gate,
and the folder it is written to (and read back from, for the report)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness.aligning.figures import BASELINES, QUALITY, largest
from harness.errors import HarnessError
from harness.files import read_frame, write_frames
from harness.maps import MapFile

MANIFEST = "manifest.json"
MAPS = "maps"
TABLES = ("results", "scores", "hits", "heldout", "heldout_hits", "split")
GATE_FAILED = 3  # the CLI's exit code for a failed gate, distinct from errors (1) and usage (2)


@dataclass(frozen=True)
class Gate:
    """The migration gate: each threshold checked on the best map, in words."""

    passed: bool
    checks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"passed": self.passed, "checks": self.checks}


def check_gate_inputs(
    min_recovery: float | None, min_overlap: float | None, probes: bool, qrels: bool, new_collection: bool
) -> None:
    """Refuse a gate the inputs cannot decide, before anything runs."""
    for value, option in ((min_recovery, "--min-recovery"), (min_overlap, "--min-overlap")):
        if value is not None and not 0 <= value <= 1:
            raise HarnessError(f"{option} is a share between 0 and 1, got {value}")
    if min_recovery is not None and not (qrels and new_collection):
        raise HarnessError(
            "--min-recovery needs --qrels and the new model's collection (--new-collection): "
            "the recovered share is of the quality of the new model's own results"
        )
    if min_overlap is not None and not probes:
        raise HarnessError("--min-overlap needs probes (--probes FILE): it compares their results")


@dataclass
class AlignResult:
    """``tables`` by name (``results``: one row per method and training size), the map of each
    kind fitted on the largest training sample, the ``best`` kind, the manifest and notes."""

    tables: dict[str, pd.DataFrame]
    maps: dict[str, MapFile]
    best: str | None
    manifest: dict
    warnings: list[str] = field(default_factory=list)

    @property
    def results(self) -> pd.DataFrame:
        return self.tables["results"]

    @property
    def scores(self) -> pd.DataFrame:
        return self.tables["scores"]

    @property
    def best_map(self) -> MapFile | None:
        return self.maps.get(self.best) if self.best else None

    def summary(self) -> pd.DataFrame:
        """The baselines and each kind at its largest training size: the terminal's table."""
        rows = [r for _, r in self.results.iterrows() if r["method"] in BASELINES]
        rows += [r for r in (largest(self.results, kind) for kind in self.maps) if r is not None]
        return pd.DataFrame(rows).reset_index(drop=True)

    def gate(self, min_recovery: float | None = None, min_overlap: float | None = None) -> Gate:
        """Checks the best map: the share of the new model's native quality it recovers (the
        smallest of recall@k, nDCG@10 and MRR) and the overlap of its results with the old ones."""
        checks: list[str] = []
        passed = True
        row = largest(self.results, self.best) if self.best else None
        if row is None:
            raise HarnessError("no map was fitted: nothing to gate")
        if min_recovery is not None:
            shares = [row.get(f"recovered_{q}") for q in QUALITY]
            if any(s is None for s in shares):
                raise HarnessError(
                    "--min-recovery: the recovered share was not measured "
                    "(needs --qrels and the new model's collection)"
                )
            if any(s != s for s in shares):
                raise HarnessError(
                    "--min-recovery: the recovered share is undefined: the new model's own results score 0 "
                    "on the judgements"
                )
            value = min(float(s) for s in shares)
            ok = value >= min_recovery
            passed &= ok
            checks.append(
                f"{self.best}: recovered share of new-native quality {value:.3f} "
                f"{'>=' if ok else '<'} {min_recovery} (smallest of recall@k, nDCG@10, MRR)"
            )
        if min_overlap is not None:
            value = float(row.get("overlap_at_k_vs_old", float("nan")))
            if value != value:
                raise HarnessError("--min-overlap: the overlap with the old results was not measured (needs probes)")
            ok = value >= min_overlap
            passed &= ok
            checks.append(
                f"{self.best}: overlap@k with the old model's results {value:.3f} {'>=' if ok else '<'} {min_overlap}"
            )
        return Gate(passed, checks)

    def write(self, directory: str | Path, gate: Gate | None = None) -> list[Path]:
        """Every table (CSV, JSON, Parquet), ``maps/KIND.npz`` and ``manifest.json``."""
        directory = Path(directory)
        written = write_frames(directory, self.tables)
        files = {}
        for kind, map_file in self.maps.items():
            path = map_file.save(directory / MAPS / f"{kind}.npz")
            files[kind] = str(path.relative_to(directory))
            written.append(path)
        manifest = {**self.manifest, "maps": files, "best": self.best, "gate": gate.to_dict() if gate else None}
        path = directory / MANIFEST
        path.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        written.append(path)
        return written


def load_align(directory: str | Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """The tables and manifest of a folder written by :meth:`AlignResult.write`."""
    directory = Path(directory)
    path = directory / MANIFEST
    manifest = json.loads(path.read_text()) if path.is_file() else {}
    if "align" not in manifest:
        raise HarnessError(
            f"{directory} is not a harness align output folder (no align manifest): "
            f"run harness align --output {directory}"
        )
    return {name: read_frame(directory, name) for name in TABLES}, manifest

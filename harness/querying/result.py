"""What a query gives: hits, per-probe agreement (overlap), latency, the manifest and notes,
written as a query output folder (hits.csv, overlap.csv, agreement.csv, latency.csv,
manifest.json). ``harness query`` makes one; ``harness compare`` makes one from its study's
tables, in memory."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from harness.files import output_folder
from harness.metrics.agreement import AGREEMENT, index_attribution, summarise_agreement
from harness.metrics.uncertainty import SEED
from harness.querying.found import EXACT_COLUMNS, OVERLAP_COLUMNS
from harness.records import Probe

QUERY_FILES = ("*.csv", "*.json")  # what a query output folder holds


@dataclass
class QueryResult:
    hits: pd.DataFrame
    overlap: pd.DataFrame
    latency: pd.DataFrame
    manifest: dict
    warnings: list[str] = field(default_factory=list)
    alignment: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame | None = None  # the agreement summary, when already computed (a study's)

    def agreement_summary(self, seed: int = SEED) -> pd.DataFrame:
        """Mean agreement per pair over the probes with 95% intervals, exactly and with the index."""
        if self.summary is None:
            self.summary = summarise_agreement(self.overlap, seed)
        return self.summary

    def index_attribution(self) -> list[str]:
        """In words, how much of each pair's disagreement is the index's."""
        return index_attribution(self.agreement_summary())

    def write(self, directory: str | Path) -> list[Path]:
        """hits.csv, overlap.csv, agreement.csv, latency.csv (alignment.csv) and manifest.json,
        in a folder replaced whole (see :func:`harness.files.output_folder`)."""
        directory = Path(directory)
        frames = {
            "hits": self.hits,
            "overlap": self.overlap,
            "agreement": self.agreement_summary(),
            "latency": self.latency,
        }
        if not self.alignment.empty:
            frames["alignment"] = self.alignment
        with output_folder(directory, QUERY_FILES) as partial:
            for name, frame in frames.items():
                frame.to_csv(partial / f"{name}.csv", index=False)
            (partial / "manifest.json").write_text(json.dumps(self.manifest, indent=2, default=str) + "\n")
        return [directory / f"{name}.csv" for name in frames] + [directory / "manifest.json"]


def overlap_from_items(items: pd.DataFrame, probes: Sequence[Probe]) -> pd.DataFrame:
    """The per-probe agreement of the study (one row per pair, probe and search) in the query's
    overlap.csv form: one row per pair and probe, each figure with the index search and, as
    ``FIGURE_exact``, with exact search."""
    if items.empty:
        return pd.DataFrame(columns=OVERLAP_COLUMNS + EXACT_COLUMNS)
    keys = ["collection_a", "collection_b", "probe_id"]
    index = items[items["search"] == "index"].drop(columns="search")
    exact = items[items["search"] == "exact"][keys + list(AGREEMENT)]
    merged = index.merge(exact.rename(columns={m: f"{m}_exact" for m in AGREEMENT}), on=keys, how="left")
    merged.insert(1, "probe", merged["probe_id"].map({p.id: p.text for p in probes}))
    return merged[OVERLAP_COLUMNS + EXACT_COLUMNS].reset_index(drop=True)

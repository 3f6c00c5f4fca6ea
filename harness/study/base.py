"""What a measure is: a unit that reads collections through a context and returns tables.

Adding a measure to the study is one class (in :mod:`harness.study.measures`) and its
test: the evaluator, the files, the terminal, the HTML report and the manifest's
definitions all iterate the registry.

Three kinds: ``run`` sees one context (a collection, or a baseline when the measure lists
its kind in ``on_baselines``); ``run_pair`` two (``per_pair``), after ``prepare`` saw each
while its model was loaded; ``summarise`` (``combined``) sees the other measures' tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar, Sequence

import numpy as np
import pandas as pd

from harness.records import Probe

if TYPE_CHECKING:
    from harness.study.context import Context


@dataclass(frozen=True)
class Table:
    """One output table: its file name, its titles, and how parts from several collections join."""

    name: str
    title: str  # in the HTML report
    terminal: str | None = None  # title in the terminal; None: not shown there
    combine: Callable[[list[pd.DataFrame]], pd.DataFrame] | None = None  # default: rows concatenated


@dataclass
class StudyInputs:
    """The user's files, parsed once before any collection is read."""

    pairs: pd.DataFrame | None = None
    graded: pd.DataFrame | None = None
    qrels: pd.DataFrame | None = None
    qrels_path: Path | None = None
    probes: list[Probe] | None = None
    corpus_texts: list[str] | None = None
    paths: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class StudySettings:
    top_k: int = 10
    nprobe: int | None = None
    nprobe_values: Sequence[int] | None = None
    repeats: int = 3
    device: str = "auto"
    batch_size: int = 64
    cost_sample: int = 1000
    coherence_sample: int = 1000
    fidelity_sample: int = 200
    alignment_sample: int = 1000
    seed: int = 0
    ef: int | None = None
    ef_values: Sequence[int] | None = None
    baselines: Sequence[str] = ("bm25", "hashing")
    similarity_sample: int = 1000

    def to_dict(self) -> dict:
        return {
            "top_k": self.top_k,
            "nprobe": self.nprobe,
            "repeats": self.repeats,
            "device": self.device,
            "batch_size": self.batch_size,
            "cost_sample": self.cost_sample,
            "coherence_sample": self.coherence_sample,
            "fidelity_sample": self.fidelity_sample,
            "alignment_sample": self.alignment_sample,
            "seed": self.seed,
            "ef": self.ef,
            "baselines": list(self.baselines),
            "similarity_sample": self.similarity_sample,
        }


Frames = dict[str, pd.DataFrame]


class Measure:
    """A unit of the study. ``run`` sees one context, ``run_pair`` two (``per_pair``),
    ``summarise`` the tables of the measures before it (``combined``)."""

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    definition: ClassVar[str | None] = None
    per_pair: ClassVar[bool] = False
    combined: ClassVar[bool] = False
    on_baselines: ClassVar[frozenset[str]] = frozenset()  # baseline kinds it also measures
    on_models: ClassVar[bool] = False  # whether it measures models compared without a collection
    store_note: ClassVar[str] = "it searches collections or reads stored vectors: ingest the models first"

    def wanted(self, inputs: StudyInputs) -> bool:
        """Whether the inputs allow this measure (labelled pairs, judgements, ...)."""
        return True

    def without_store(self, inputs: StudyInputs) -> bool:
        """Whether it can measure models compared without a collection (no search, no stored
        vectors); a summary of the other measures' tables always can."""
        return self.combined or self.on_models

    def applies(self, ctx: "Context") -> bool:
        """Whether it measures this context: every collection, and the baselines it lists."""
        return not ctx.baseline or ctx.kind in self.on_baselines

    def check(self, ctx: "Context", inputs: StudyInputs) -> None:
        """Refuse inputs that do not fit the collection (a HarnessError), before anything runs."""

    def run(self, ctx: "Context", inputs: StudyInputs) -> Frames:
        raise NotImplementedError

    def prepare(self, ctx: "Context", inputs: StudyInputs) -> None:
        """Per-context work a paired measure needs while the context's model is loaded."""

    def run_pair(self, a: "Context", b: "Context", inputs: StudyInputs) -> Frames:
        raise NotImplementedError

    def summarise(self, tables: dict[str, pd.DataFrame], inputs: StudyInputs, settings: StudySettings) -> Frames:
        raise NotImplementedError


def side_by_side(keys: list[str]) -> Callable[[list[pd.DataFrame]], pd.DataFrame]:
    """A ``combine`` for parts that share key columns and add one column each (per collection)."""

    def combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
        frames = [p for p in parts if not p.empty]
        if not frames:
            return pd.DataFrame()
        out = frames[0]
        for part in frames[1:]:
            out = out.merge(part, on=keys, how="outer")
        return out.reset_index(drop=True)

    return combine


def sample_positions(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of a seeded sample of ``size`` out of ``n`` (all when size <= 0 or >= n)."""
    if size <= 0 or n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))

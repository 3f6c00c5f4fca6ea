"""What a measure is: a unit that reads collections through a context and returns tables.

Adding a measure to the study is one class (in :mod:`harness.study.measures`) and its
test: the evaluator, the files, the terminal, the HTML report and the manifest's
definitions all iterate the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar, Sequence

import numpy as np
import pandas as pd

from harness.records import Probe

if TYPE_CHECKING:
    from harness.study.context import CollectionContext


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
        }


Frames = dict[str, pd.DataFrame]


class Measure:
    """A unit of the study. ``run`` sees one collection, ``run_pair`` two (``per_pair``)."""

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    definition: ClassVar[str | None] = None
    per_pair: ClassVar[bool] = False

    def wanted(self, inputs: StudyInputs) -> bool:
        """Whether the inputs allow this measure (labelled pairs, judgements, ...)."""
        return True

    def check(self, ctx: "CollectionContext", inputs: StudyInputs) -> None:
        """Refuse inputs that do not fit the collection (a HarnessError), before anything runs."""

    def run(self, ctx: "CollectionContext", inputs: StudyInputs) -> Frames:
        raise NotImplementedError

    def run_pair(self, a: "CollectionContext", b: "CollectionContext", inputs: StudyInputs) -> Frames:
        raise NotImplementedError


def sample_positions(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of a seeded sample of ``size`` out of ``n`` (all when size <= 0 or >= n)."""
    if size <= 0 or n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))

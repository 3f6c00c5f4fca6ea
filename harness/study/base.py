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
from typing import Any, Callable, ClassVar, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.models import Embedder
from harness.records import Fusion, Hit, Probe, SearchParams
from harness.retrieval import EXACT, INDEX, Queries, Retriever, RunBook

# The report's sections, in the order it shows them.
SECTIONS = ("Quality", "Cost", "How different the results are", "Index", "Similarity scores")


@dataclass(frozen=True)
class Column:
    """How people read a column: its title, its format (int, float0..float3, millions, text)
    and the direction of better ("high" or "low"; the best model's value is marked)."""

    title: str
    kind: str = "float3"
    better: str | None = None


@dataclass(frozen=True)
class Table:
    """One output table: its file name, how people read it (titles, columns, where the report
    shows it) and how parts from several collections join. The output renders whatever the
    measures declare: a new measure's table needs nothing else."""

    name: str
    title: str  # in the HTML report
    terminal: str | None = None  # shown in the terminal after a study (its title there); None: not shown
    combine: Callable[[list[pd.DataFrame]], pd.DataFrame] | None = None  # default: rows concatenated
    section: str | None = None  # the report's section (one of SECTIONS); None: in the files only
    folded: bool = False  # in the report, folded under its section
    link: str = ""  # how a sentence of the recommendation names it ("retrieval table")
    columns: Mapping[str, Column] = field(default_factory=dict)  # its columns as people read them


@dataclass(frozen=True)
class Plot:
    """A plot a measure declares: its name (the PNG's), its title and the report's section
    (None: under "More plots"). ``draw(tables, names, path)`` draws it from the study's tables
    (matplotlib imported inside) and returns the path, or None when there is nothing to draw; the
    built-in plots are drawn by :mod:`harness.output.plots` under the same names."""

    name: str
    title: str
    section: str | None = None
    draw: Callable[[dict[str, pd.DataFrame], Any, Path], Path | None] | None = None


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
class StudyPlan:
    """Everything a study is run with, checked once where it is built (the command line, the
    experiment file or a notebook) and carried whole to every measure: the search (``search``:
    top_k, nprobe, ef), the sweeps, repeats, samples, seed, baselines and measures."""

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
    baselines: Sequence[str] = ("bm25", "hashing")  # or "bm25,hashing", "none"
    similarity_sample: int = 1000
    search_repeats: int = 3  # timed one-probe searches per probe (latency)
    metrics_url: str | None = None  # a server's Prometheus endpoint, for server-side latency
    measures: Sequence[str] | None = None  # the measures to run, or "a,b" (None: all)
    fusion: Fusion = field(default_factory=Fusion)  # how the hybrid retriever fuses (--rrf-k, --hybrid-weights)

    def __post_init__(self) -> None:
        from harness.baselines import parse_baselines

        object.__setattr__(self, "baselines", parse_baselines(self.baselines))
        self.search  # noqa: B018  top_k, nprobe and ef checked as query checks them
        if self.repeats < 1:
            raise HarnessError("--repeats must be at least 1")
        for value, option in ((self.search_repeats, "--repeats"), (self.seed, "--seed")):
            if value < 0:
                raise HarnessError(f"{option} cannot be negative")
        if self.batch_size < 1:
            raise HarnessError("--batch-size must be at least 1")
        for option in ("cost", "coherence", "fidelity", "alignment", "similarity"):
            if getattr(self, f"{option}_sample") < 0:
                raise HarnessError(f"--{option}-sample cannot be negative (0: all)")
        for values, option in ((self.nprobe_values, "--nprobe-sweep"), (self.ef_values, "--ef-sweep")):
            bad = [v for v in values or () if v < 1]
            if bad:
                raise HarnessError(f"{option} values must be at least 1, not {bad[0]}")

    @property
    def search(self) -> SearchParams:
        """How the collections are searched: k, and nprobe or ef by index type."""
        return SearchParams(self.top_k, self.nprobe, ef=self.ef)

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
            "baselines": list(self.baselines or ()),
            "similarity_sample": self.similarity_sample,
            "search_repeats": self.search_repeats,
            "fusion": self.fusion.describe(),
        }


StudySettings = StudyPlan  # the name before settings were a plan carried whole


Frames = dict[str, pd.DataFrame]


class Measure:
    """A unit of the study. ``run`` sees one context, ``run_pair`` two (``per_pair``),
    ``summarise`` the tables of the measures before it (``combined``)."""

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    plots: ClassVar[tuple[Plot, ...]] = ()
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

    def plan(self, ctx: "Context", inputs: StudyInputs) -> None:
        """Say which runs it will read (``ctx.plan_texts``, ``ctx.plan_rows``), so that every
        exact search of a collection is made in one scan of its vectors."""

    def run(self, ctx: "Context", inputs: StudyInputs) -> Frames:
        raise NotImplementedError

    def prepare(self, ctx: "Context", inputs: StudyInputs) -> None:
        """Per-context work a paired measure needs while the context's model is loaded."""

    def run_pair(self, a: "Context", b: "Context", inputs: StudyInputs) -> Frames:
        raise NotImplementedError

    def summarise(self, tables: dict[str, pd.DataFrame], inputs: StudyInputs, settings: StudySettings) -> Frames:
        raise NotImplementedError

    def findings(self, tables: dict[str, pd.DataFrame], names: Callable[[str], str]) -> list[str]:
        """Lines of the verdict's detail this measure adds, from the study's tables (``names``
        gives a collection's short name); the built-in measures' lines are in the output."""
        return []


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


class Context:
    """The surface measures use; ``kind`` is ``collection``, ``bm25`` or ``hashing``."""

    name: str
    kind: str = "collection"
    baseline: bool = False
    settings: StudySettings

    def __init__(self, book: RunBook | None = None) -> None:
        self.memo: dict[str, Any] = {}  # what a paired measure's prepare() kept for run_pair()
        self.book = book if book is not None else RunBook()

    @property
    def alias(self) -> str:
        raise NotImplementedError

    @property
    def ids(self) -> np.ndarray:
        raise NotImplementedError

    @property
    def groups(self) -> list[str]:
        raise NotImplementedError

    @property
    def has_vectors(self) -> bool:
        return True

    @property
    def setting(self) -> str:
        """The search setting in words (``nprobe=8``, ``ef=default``, ``exhaustive``, ``exact``)."""
        return "exact"

    def sample(self, size: int) -> np.ndarray:
        """Positions (into :attr:`ids`) of the seeded sample every measure uses: drawn from the
        sorted ids, so collections of the same corpus (and the baselines) sample the same rows."""
        order = np.argsort(self.ids, kind="stable")
        return np.sort(order[sample_positions(len(order), size, self.settings.seed)])

    # --- runs: every search goes through the run book, so measures share them ---------------------

    book: RunBook
    retriever: Retriever | None = None

    def _retriever(self) -> Retriever:
        if self.retriever is None:
            raise HarnessError(f"{self.name} is a model without a collection: it cannot be searched")
        return self.retriever

    def plan_texts(self, texts: Sequence[str], k: int) -> None:
        self.book.plan(self._retriever(), Queries.of_texts(texts), k)

    def plan_rows(self, ids: Sequence[int] | np.ndarray, k: int) -> None:
        self.book.plan(self._retriever(), Queries.of_rows(ids), k)

    def search_texts(self, texts: Sequence[str], k: int, exact: bool = False) -> list[list[Hit]]:
        """Each text's top k, encoded by this retriever's model as a query."""
        return self.book.run(self._retriever(), Queries.of_texts(texts), k, EXACT if exact else INDEX).top(k)

    def search_rows(self, ids: Sequence[int] | np.ndarray, k: int, exact: bool = False) -> list[list[Hit]]:
        """Each stored row's top k (the row itself usually first)."""
        return self.book.run(self._retriever(), Queries.of_rows(ids), k, EXACT if exact else INDEX).top(k)

    @property
    def embedder(self) -> Embedder:
        raise HarnessError(f"{self.name} has no model")

    def load_again(self) -> Embedder:
        """A fresh load of the model, for timing loads; the caller closes it."""
        raise HarnessError(f"{self.name} has no model")

    def encode(self, texts: Sequence[str], role: str = "document") -> np.ndarray:
        return self.embedder.encode(list(texts), self.settings.batch_size, role=role)  # type: ignore[arg-type]

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def texts(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        raise NotImplementedError

    def stream(self, batch_size: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

"""The study's measures, in the order their tables are written and shown.

To add a measure: write its class (a subclass of :class:`harness.study.base.Measure`) in a
module here, list an instance below, and test it; nothing else changes.
"""

from typing import Sequence

from harness.errors import HarnessError
from harness.study.base import Measure, Table
from harness.study.measures.agreement import Agreement
from harness.study.measures.alignment import Alignment
from harness.study.measures.coherence import Coherence
from harness.study.measures.comparison import Comparison, Unanswered
from harness.study.measures.cost import Cost
from harness.study.measures.fidelity import Fidelity
from harness.study.measures.fusion import FusionSweep
from harness.study.measures.hits import Hits
from harness.study.measures.latency import Latency
from harness.study.measures.pairs import Contrast, Graded
from harness.study.measures.retrieval import Retrieval
from harness.study.measures.similarity import Similarity
from harness.study.measures.variants import Variants

MEASURES: tuple[Measure, ...] = (
    Cost(),
    Contrast(),
    Graded(),
    Retrieval(),
    FusionSweep(),
    Coherence(),
    Agreement(),
    Hits(),
    Latency(),
    Similarity(),
    Fidelity(),
    Alignment(),
    Variants(),
    Comparison(),
    Unanswered(),
)


def tables() -> dict[str, Table]:
    """Every table of the study by name, in registry order (a table two measures share once)."""
    found: dict[str, Table] = {}
    for measure in MEASURES:
        for table in measure.tables:
            found.setdefault(table.name, table)
    return found


TABLES: tuple[str, ...] = tuple(tables())


def select_measures(names: str | Sequence[str] | None) -> tuple[Measure, ...]:
    """The registered measures named (a list, or comma-separated), in registry order; every
    measure for None or an empty selection."""
    if isinstance(names, str):
        names = [names]
    wanted = [n.strip().lower() for value in names or [] for n in value.split(",") if n.strip()]
    if not wanted:
        return MEASURES
    known = [m.name for m in MEASURES]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise HarnessError(f"unknown measure {unknown[0]!r}; the measures are {', '.join(known)}")
    return tuple(m for m in MEASURES if m.name in wanted)


__all__ = ["MEASURES", "TABLES", "select_measures", "tables"]

"""The study's measures, in the order their tables are written and shown.

To add a measure: write its class (a subclass of :class:`harness.study.base.Measure`) in a
module here, list an instance below, and test it; nothing else changes.
"""

from harness.study.base import Measure, Table
from harness.study.measures.agreement import Agreement
from harness.study.measures.alignment import Alignment
from harness.study.measures.coherence import Coherence
from harness.study.measures.comparison import Comparison, Unanswered
from harness.study.measures.cost import Cost
from harness.study.measures.fidelity import Fidelity
from harness.study.measures.pairs import Contrast, Graded
from harness.study.measures.retrieval import Retrieval
from harness.study.measures.similarity import Similarity
from harness.study.measures.variants import Variants

MEASURES: tuple[Measure, ...] = (
    Cost(),
    Contrast(),
    Graded(),
    Retrieval(),
    Coherence(),
    Agreement(),
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

__all__ = ["MEASURES", "TABLES", "tables"]

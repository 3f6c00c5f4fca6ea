"""The study's measures, in the order their tables are written and shown.

The code is in :mod:`harness.study.measures.registry`; this face hands its names on."""

from harness.study.measures.registry import (  # noqa: F401
    MEASURES,
    TABLES,
    Agreement,
    Alignment,
    Coherence,
    Comparison,
    Contrast,
    Cost,
    Fidelity,
    FusionSweep,
    Graded,
    Hits,
    Latency,
    Retrieval,
    Similarity,
    Unanswered,
    Variants,
    select_measures,
    tables,
)

__all__ = [
    "Agreement",
    "Alignment",
    "Coherence",
    "Comparison",
    "Unanswered",
    "Cost",
    "Fidelity",
    "FusionSweep",
    "Hits",
    "Latency",
    "Contrast",
    "Graded",
    "Retrieval",
    "Similarity",
    "Variants",
    "MEASURES",
    "tables",
    "TABLES",
    "select_measures",
]

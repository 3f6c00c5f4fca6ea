"""A run: what one retriever returned for one query set, with one kind of search."""

from __future__ import annotations

from dataclasses import dataclass

from harness.records import Hit
from harness.retrieval.queries import Queries

INDEX, EXACT = "index", "exact"


@dataclass(frozen=True)
class RunKey:
    retriever: str
    queries: str  # Queries.key
    search: str  # INDEX or EXACT
    value: int | None = None  # the index's search parameter (nprobe, ef) when not the configured one


@dataclass
class Run:
    """Ranked hits per query, nearest first, searched to ``depth``; ``seconds`` of searching
    (for an exact run planned with others, its share of the one scan)."""

    retriever: str
    queries: Queries
    search: str
    depth: int
    hits: list[list[Hit]]
    seconds: float = 0.0

    def top(self, k: int) -> list[list[Hit]]:
        """Each query's first k hits (a run searched deeper holds every shallower answer)."""
        if k > self.depth:
            raise ValueError(f"run of {self.retriever} searched to depth {self.depth}, not {k}")
        return [hits[:k] for hits in self.hits]

    def ids(self, k: int | None = None) -> list[list[int]]:
        return [[h.id for h in hits] for hits in self.top(k if k is not None else self.depth)]

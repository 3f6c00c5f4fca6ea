"""A run: what one retriever returned for one query set, with one kind of search."""

from __future__ import annotations

from dataclasses import dataclass

from harness.records import Hit, Probe
from harness.retrieval.queries import Queries

INDEX, EXACT = "index", "exact"
# A hit as the files and tables show it: doc_id is the corpus's own id (the int64 one where it has none).
HIT_COLUMNS = ["probe_id", "probe", "collection", "rank", "id", "doc_id", "text", "group", "distance"]


def hit_rows(probe: Probe, collection: str, hits: list[Hit]) -> list[dict]:
    """One row per hit of one probe, nearest first (rank 1)."""
    return [
        {
            "probe_id": probe.id,
            "probe": probe.text,
            "collection": collection,
            "rank": rank,
            "id": hit.id,
            "doc_id": hit.key,
            "text": hit.text,
            "group": hit.group,
            "distance": hit.distance,
        }
        for rank, hit in enumerate(hits, start=1)
    ]


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

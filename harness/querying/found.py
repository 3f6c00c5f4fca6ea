"""What each collection and baseline returned for the probes, with the index and exactly,
as the rows of hits.csv and overlap.csv."""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

from harness.metrics.agreement import AGREEMENT, agreement
from harness.records import Hit, Probe
from harness.retrieval import HIT_COLUMNS, hit_rows

__all__ = ["EXACT_COLUMNS", "HIT_COLUMNS", "OVERLAP_COLUMNS", "Found", "hit_rows"]

# Each agreement figure with the index search, then with exact search over the same vectors.
OVERLAP_COLUMNS = ["probe_id", "probe", "collection_a", "collection_b", "k", *AGREEMENT]
EXACT_COLUMNS = [f"{m}_exact" for m in AGREEMENT]


class Found:
    def __init__(self, probes: Sequence[Probe]):
        self.probes = probes
        self.hit_rows: list[dict] = []
        self.ids: dict[str, list[list[int]]] = {}
        self.exact: dict[str, list[list[int]]] = {}
        self.settings: dict[str, str] = {}  # name -> search setting in words

    def add(self, name: str, setting: str, results: list[list[Hit]], exact) -> None:
        self.settings[name] = setting
        self.ids[name] = [[h.id for h in hits] for hits in results]
        if exact is not None:
            self.exact[name] = [list(map(int, row)) for row in exact]
        for probe, hits in zip(self.probes, results):
            self.hit_rows.extend(hit_rows(probe, name, hits))

    def overlap_rows(self, k: int, rbo_p: float, exact: bool) -> list[dict]:
        rows = []
        for a, b in combinations(self.settings, 2):
            for i, probe in enumerate(self.probes):
                row: dict = {"probe_id": probe.id, "probe": probe.text, "collection_a": a, "collection_b": b}
                row.update(agreement(self.ids[a][i], self.ids[b][i], k, rbo_p))
                if exact and a in self.exact and b in self.exact:
                    figures = agreement(self.exact[a][i], self.exact[b][i], k, rbo_p)
                    row.update({f"{m}_exact": figures[m] for m in AGREEMENT})
                elif exact:
                    row.update({f"{m}_exact": float("nan") for m in AGREEMENT})
                rows.append(row)
        return rows

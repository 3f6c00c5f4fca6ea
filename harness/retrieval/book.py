"""The run book: every run of a study (or a query) kept by retriever, query set and search,
so that a figure asked for by several measures is searched once, and every exact search of a
collection is made in one scan of its stored vectors.

Measures say beforehand what they will read (:meth:`RunBook.plan`); the first exact run asked
of a collection then searches every planned query set of it at once.
"""

from __future__ import annotations

import time
from collections import Counter

from harness.retrieval.queries import Queries
from harness.retrieval.retrievers import Retriever
from harness.retrieval.run import EXACT, INDEX, Run, RunKey


class RunBook:
    def __init__(self) -> None:
        self.runs: dict[RunKey, Run] = {}
        self.planned: dict[str, dict[str, tuple[Queries, int]]] = {}  # retriever -> query set -> (queries, depth)
        self.scans: Counter[str] = Counter()  # exact scans made per retriever

    def plan(self, retriever: Retriever, queries: Queries, depth: int) -> None:
        """A run that will be read, to ``depth``: searched together with the others planned."""
        if not len(queries):
            return
        wanted = self.planned.setdefault(retriever.name, {})
        known = wanted.get(queries.key)
        wanted[queries.key] = (queries, max(depth, known[1] if known else 0))

    def _depth(self, retriever: Retriever, queries: Queries, depth: int) -> int:
        known = self.planned.get(retriever.name, {}).get(queries.key)
        return max(depth, known[1]) if known else depth

    def run(self, retriever: Retriever, queries: Queries, depth: int, search: str = INDEX, value=None) -> Run:
        """The run of ``queries`` on ``retriever`` to at least ``depth``, searched now if no
        earlier one reaches it. A baseline's exact run is its index run (it has one search)."""
        if search == EXACT and not retriever.exact_differs:
            search = INDEX
        key = RunKey(retriever.name, queries.key, search, value)
        found = self.runs.get(key)
        if found is not None and found.depth >= depth:
            return found
        if search == INDEX:
            depth = self._depth(retriever, queries, depth)
            started = time.perf_counter()
            hits = retriever.index_search(queries, depth, value)
            run = Run(retriever.name, queries, INDEX, depth, hits, time.perf_counter() - started)
            self.runs[key] = run
            return run
        self._scan(retriever, queries, depth)
        return self.runs[key]

    def _scan(self, retriever: Retriever, queries: Queries, depth: int) -> None:
        """Every planned exact run of the retriever not yet made (and this one) in one scan."""
        wanted = {queries.key: (queries, self._depth(retriever, queries, depth))}
        for key, (planned, planned_depth) in self.planned.get(retriever.name, {}).items():
            done = self.runs.get(RunKey(retriever.name, key, EXACT))
            if key not in wanted and (done is None or done.depth < planned_depth):
                wanted[key] = (planned, planned_depth)
        deepest = max(d for _, d in wanted.values())
        sets = [q for q, _ in wanted.values()]
        started = time.perf_counter()
        found = retriever.exact_search(sets, deepest)
        seconds = time.perf_counter() - started
        self.scans[retriever.name] += 1
        total = sum(len(q) for q in sets) or 1
        for planned, hits in zip(sets, found):
            share = seconds * len(planned) / total
            self.runs[RunKey(retriever.name, planned.key, EXACT)] = Run(
                retriever.name, planned, EXACT, deepest, hits, share
            )

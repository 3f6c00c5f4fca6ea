"""One alignment, step by step: the paired vectors, the baselines (the old and the new
model's own results, the unmapped cross-model query), every map kind fitted at every
training size, and every figure gathered as rows of the result's tables."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from harness import __version__
from harness.aligning.data import AlignSettings, Side, all_ids, map_kinds, split_ids, split_table, train_sizes
from harness.aligning.figures import (
    NEW_NATIVE,
    OLD_NATIVE,
    UNMAPPED,
    apply_us,
    best,
    cosines,
    probe_figures,
    recovered,
    score_table,
)
from harness.aligning.result import AlignResult
from harness.errors import HarnessError
from harness.inputs import check_qrels_ids
from harness.manifest import RunManifest, now
from harness.maps import MapFile, MapHeader, fit_map
from harness.records import Probe, Progress, ProgressFn, SearchParams
from harness.retrieval import CollectionRetriever
from harness.store import VectorStore, redact_uri, rows_of

LATENCY_QUERIES = 200


@dataclass
class _Probes:
    """The probes' results per method: ids (for agreement and qrels) and the hit rows."""

    probes: Sequence[Probe]
    judged: dict[str, dict[int, float]] | None
    old_native: list[list[int]] = field(default_factory=list)
    new_native: list[list[int]] | None = None


class AlignRun:
    """One alignment: the split, the vectors, the fits and every figure, gathered as rows."""

    def __init__(
        self,
        store: VectorStore,
        old: Side,
        new: Side,
        probes: Sequence[Probe] | None,
        qrels: pd.DataFrame | None,
        qrels_path: str,
        settings: AlignSettings,
        progress: ProgressFn | None,
    ):
        self.store, self.old, self.new, self.settings, self.progress = store, old, new, settings, progress
        self.probe_list, self.qrels, self.qrels_path = probes, qrels, qrels_path
        self.notes: list[str] = []
        self.results: list[dict] = []
        self.hits: list[dict] = []
        self.heldout: list[dict] = []
        self.heldout_hits: list[dict] = []
        self.scores: dict[str, np.ndarray] = {}
        self.maps: dict[str, MapFile] = {}
        self.params = SearchParams(settings.top_k, settings.nprobe, ef=settings.ef)  # the same checks as query
        self.retrievers: dict[str, CollectionRetriever] = {}
        self.depth = max(settings.top_k, 10)  # nDCG@10 and MRR read the top 10 at least

    # --- the data ----------------------------------------------------------------------------------

    def _prepare(self) -> None:
        store, old, new = self.store, self.old, self.new
        assert old.collection is not None
        old_dim, new_dim = old.dimension(store), new.dimension(store)
        self.kinds = map_kinds(self.settings.kinds, new_dim, old_dim, self.notes)
        shared = all_ids(store, old.collection)
        if new.collection:
            shared = np.intersect1d(shared, all_ids(store, new.collection))
            if not len(shared):
                raise HarnessError(f"collections {old.collection} and {new.collection} have no ids in common")
        self.split = split_ids(shared, self.settings.test_size, self.settings.seed)
        self.sizes = train_sizes(self.settings.train_sizes, len(self.split.pool), len(self.split.test))
        self.shared = len(np.unique(shared))
        train_ids = self.split.pool[: max(self.sizes)]
        ids = [int(i) for i in np.concatenate([train_ids, self.split.test])]
        _, old_vectors, texts, _ = rows_of(store, old.collection, ids)
        assert old_vectors is not None
        y = old_vectors
        if new.collection:
            _, new_vectors, new_texts, _ = rows_of(store, new.collection, ids)
            assert new_vectors is not None
            x = new_vectors
            differ = sum(a != b for a, b in zip(texts, new_texts))
            if differ:
                self.notes.append(
                    f"{differ} of {len(ids)} paired ids hold different texts in {old.collection} and "
                    f"{new.collection}: the pairs may not be the same rows"
                )
        else:
            x = new.embedder.encode(texts, self.settings.batch_size, role="document")
        n = len(train_ids)
        self.x_train, self.y_train, self.x_test, self.y_test = x[:n], y[:n], x[n:], y[n:]
        self.same_dims = new_dim == old_dim

    def _prepare_probes(self) -> None:
        self.probe_data: _Probes | None = None
        if not self.probe_list:
            return
        judged = None
        if self.qrels is not None:
            wanted = [int(i) for i in dict.fromkeys(self.qrels["corpus_id"])]
            for collection in (self.old.collection, self.new.collection):
                if collection:
                    present = self.store.existing_ids(collection, wanted)
                    check_qrels_ids(self.qrels, present, self.qrels_path, collection)
            judged = {
                pid: dict(zip(g["corpus_id"].astype(int), g["relevance"])) for pid, g in self.qrels.groupby("probe_id")
            }
        texts = [p.text for p in self.probe_list]
        size = self.settings.batch_size
        self.probe_old = self.old.embedder.encode(texts, size, role="query")
        self.probe_new = self.new.embedder.encode(texts, size, role="query")
        data = _Probes(self.probe_list, judged)
        assert self.old.collection is not None
        data.old_native = self._search_probes(OLD_NATIVE, 0, self.old.collection, self.probe_old)
        if self.new.collection:
            data.new_native = self._search_probes(NEW_NATIVE, 0, self.new.collection, self.probe_new)
        self.probe_data = data

    # --- searches and figures ---------------------------------------------------------------------

    def _retriever(self, collection: str) -> CollectionRetriever:
        """The collection's index search, as query and the study make it (nprobe for IVF, ef for HNSW)."""
        if collection not in self.retrievers:
            meta = self.store.require_collection(collection)
            index = self.store.describe(collection).index or meta.index

            def no_texts(texts: list[str]) -> np.ndarray:
                raise HarnessError("harness align searches with vectors it encoded itself")

            self.retrievers[collection] = CollectionRetriever(
                self.store, collection, meta, self.params, no_texts, index
            )
        return self.retrievers[collection]

    def _search_probes(self, method: str, size: int, collection: str, vectors: np.ndarray) -> list[list[int]]:
        found = self._retriever(collection).search_vectors(vectors, self.depth)
        assert self.probe_list is not None
        for probe, hits in zip(self.probe_list, found):
            self.hits.extend(
                {
                    "method": method,
                    "train_size": size,
                    "collection": collection,
                    "probe_id": probe.id,
                    "rank": rank,
                    "id": hit.id,
                    "distance": hit.distance,
                }
                for rank, hit in enumerate(hits, start=1)
            )
        return [[h.id for h in hits] for hits in found]

    def _probe_figures(self, ids: list[list[int]]) -> dict:
        data = self.probe_data
        if data is None:
            return {}
        s = self.settings
        return probe_figures(ids, data.old_native, data.new_native, data.judged, data.probes, s.top_k, s.rbo_p)

    def _heldout_figures(self, method: str, size: int, queries: np.ndarray, collection: str, keep: bool) -> dict:
        """Same-text cosine and self-retrieval@1 of held-out rows used as queries; with ``keep``, the
        distances of their top-k hits (the row itself excluded) for the score quantiles."""
        test_ids = [int(i) for i in self.split.test]
        target = self.y_test if collection == self.old.collection else self.x_test
        found = self._retriever(collection).search_vectors(queries, self.settings.top_k + 1)
        same = cosines(queries, target)
        for row_id, hits, cosine in zip(test_ids, found, same):
            top = hits[0].id if hits else None
            self.heldout.append({"method": method, "train_size": size, "id": row_id, "cosine": cosine, "top1_id": top})
        if keep:
            distances: list[float] = []
            for row_id, hits in zip(test_ids, found):
                others = [h for h in hits if h.id != row_id][: self.settings.top_k]
                distances.extend(h.distance for h in others)
                self.heldout_hits.extend(
                    {"method": method, "query_id": row_id, "rank": r, "id": h.id, "distance": h.distance}
                    for r, h in enumerate(others, start=1)
                )
            self.scores[method] = np.asarray(distances)
        return {
            "heldout_rows": len(test_ids),
            "same_text_cosine": float(np.mean(same)) if len(same) else float("nan"),
            "self_retrieval_at_1": float(np.mean([bool(h) and h[0].id == i for h, i in zip(found, test_ids)])),
        }

    # --- the run -------------------------------------------------------------------------------------

    def _baselines(self) -> None:
        old, new = self.old, self.new
        assert old.collection is not None
        self.results.append(
            {
                "method": OLD_NATIVE,
                "train_size": 0,
                **self._heldout_figures(OLD_NATIVE, 0, self.y_test, old.collection, keep=True),
                **self._probe_figures(self.probe_data.old_native if self.probe_data else []),
            }
        )
        if new.collection:
            row = {"method": NEW_NATIVE, "train_size": 0}
            row.update(self._heldout_figures(NEW_NATIVE, 0, self.x_test, new.collection, keep=True))
            if self.probe_data and self.probe_data.new_native is not None:
                row.update(self._probe_figures(self.probe_data.new_native))
            self.results.append(row)
        if self.same_dims:
            row = {"method": UNMAPPED, "train_size": 0}
            row.update(self._heldout_figures(UNMAPPED, 0, self.x_test, old.collection, keep=True))
            if self.probe_data:
                row.update(self._probe_figures(self._search_probes(UNMAPPED, 0, old.collection, self.probe_new)))
            self.results.append(row)

    def _fit_all(self) -> None:
        assert self.old.collection is not None
        total, done = len(self.kinds) * len(self.sizes), 0
        largest = max(self.sizes)
        for kind in self.kinds:
            for size in self.sizes:
                started = time.perf_counter()
                space_map = fit_map(kind, self.x_train[:size], self.y_train[:size], seed=self.settings.seed)
                fit_s = time.perf_counter() - started
                row = {
                    "method": kind,
                    "train_size": size,
                    "fit_s": fit_s,
                    "apply_us": apply_us(space_map, self.x_test[:LATENCY_QUERIES]),
                }
                mapped = space_map(self.x_test)
                row.update(self._heldout_figures(kind, size, mapped, self.old.collection, keep=size == largest))
                if self.probe_data:
                    ids = self._search_probes(kind, size, self.old.collection, space_map(self.probe_new))
                    row.update(self._probe_figures(ids))
                self.results.append(row)
                if size == largest:
                    self.maps[kind] = MapFile(space_map, self._header(kind, size, space_map.params, row))
                done += 1
                if self.progress:
                    self.progress(Progress(f"fit {kind} on {size} rows", done, total))

    def _header(self, kind: str, size: int, params: dict, row: dict) -> MapHeader:
        figures = {k: v for k, v in row.items() if k not in {"method", "train_size"} and not _missing(v)}
        return MapHeader(
            kind=kind,
            source=self.new.space(self.store),
            target=self.old.space(self.store),
            train_rows=size,
            seed=self.settings.seed,
            params=params,
            heldout=figures,
            harness_version=__version__,
            created=now(),
        )

    def run(self) -> AlignResult:
        self._prepare()
        self._prepare_probes()
        self._baselines()
        self._fit_all()
        results = recovered(pd.DataFrame(self.results))
        for kind, map_file in self.maps.items():  # the headers get the recovered shares too
            row = results[(results["method"] == kind) & (results["train_size"] == map_file.header.train_rows)]
            figures = {k: v for k, v in row.iloc[0].items() if k not in {"method", "train_size"} and not _missing(v)}
            map_file.header = _with_heldout(map_file.header, figures)
        chosen = best(results, list(self.maps))
        tables = {
            "results": results,
            "scores": score_table(self.scores, self._metric(), self.settings.score_threshold),
            "hits": pd.DataFrame(self.hits),
            "heldout": pd.DataFrame(self.heldout),
            "heldout_hits": pd.DataFrame(self.heldout_hits),
            "split": split_table(self.split),
        }
        return AlignResult(tables, self.maps, chosen, self._manifest(chosen), self.notes)

    def _metric(self) -> str:
        assert self.old.meta is not None
        return self.old.meta.index.metric or "L2"

    def _manifest(self, chosen: str | None) -> dict:
        collections = {self.old.collection: self.old.meta.summary()} if self.old.meta else {}
        if self.new.collection and self.new.meta:
            collections[self.new.collection] = self.new.meta.summary()
        return RunManifest(
            uri=redact_uri(self.store.uri),
            backend=self.store.capabilities.backend,
            collections=collections,  # type: ignore[arg-type]
            details={
                "old": self.old.space(self.store).__dict__,
                "new": self.new.space(self.store).__dict__,
                "external": [
                    c for c in (self.old.collection, self.new.collection) if c and self.store.describe(c).external
                ],
                "align": self.settings.to_dict(),
                "kinds": self.kinds,
                "train_sizes": self.sizes,
                "split": {
                    "shared_rows": self.shared,
                    "test_rows": len(self.split.test),
                    "pool_rows": len(self.split.pool),
                },
                "probes": [{"id": p.id, "text": p.text} for p in self.probe_list or []],
                "qrels": self.qrels_path or None,
                "best": chosen,
            },
            notes=self.notes,
        ).to_dict()


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _with_heldout(header: MapHeader, figures: dict) -> MapHeader:
    from dataclasses import replace

    return replace(
        header, heldout={k: (float(v) if isinstance(v, (int, float, np.number)) else v) for k, v in figures.items()}
    )

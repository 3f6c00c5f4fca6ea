"""The Milvus store's row operations: write rows by id, look ids up, search, and read rows
back (all of them in batches, or the ones asked for)."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from harness.errors import StoreError
from harness.records import FieldNames, Fusion, Hit, SearchParams
from harness.store.base import TEXT_CHARS, RowBatch
from harness.store.milvus_base import (
    DOC_ID_FIELD,
    FULL_TEXT_NEEDS,
    GROUP_MAX,
    SPARSE_FIELD,
    VECTOR_FIELD,
    MilvusBase,
)

INSERT_BYTES = 16 << 20  # well under gRPC's 64 MiB message limit
# Milvus Lite's FLAT search materialises queries x rows x dimensions (as float64): 300 queries
# over 5,183 rows of 384-d took ~4.5 GB, 16 at a time ~0.2 GB. Its searches are sent in
# batches sized to stay near this; a server gets them in batches of SERVER_SEARCH_BATCH.
LITE_SEARCH_BYTES = 256 << 20
SERVER_SEARCH_BATCH = 256


class MilvusRows(MilvusBase):
    def existing_ids(self, name: str, ids: Sequence[int]) -> set[int]:
        """The ids of these the collection holds (a server looks ids up only in a loaded,
        hence indexed, collection: it is loaded first)."""
        if not ids:
            return set()
        self.ensure_loaded(name)
        key = self.fields(name).id
        with self._errors(f"look up ids in {name}"):
            rows = self.client.query(name, ids=list(ids), output_fields=[key])
        return {int(row[key]) for row in rows}

    def insert(
        self,
        name: str,
        ids: Sequence[int],
        texts: Sequence[str],
        groups: Sequence[str],
        vectors: np.ndarray,
        doc_ids: Sequence[str] | None = None,
    ) -> None:
        """Write rows by id. A server keeps a second row for an id inserted twice (two
        ingests at once would double the collection), so there the write is an upsert,
        which replaces every row of the id; Lite's insert already does that. ``doc_ids``
        (the corpus's own ids; "" or None: the int64 id) go to the doc_id field, where the
        collection has one."""
        self._writable(name)
        self._rows.pop(name, None)
        per_row = vectors.shape[1] * 4 + 256
        step = max(1, INSERT_BYTES // per_row)
        write = self.client.insert if self.is_lite else self.client.upsert
        keep_doc_ids = self.has_doc_ids(name)
        with self._errors(f"insert into {name}"):
            for start in range(0, len(ids), step):
                stop = start + step
                rows = [
                    {"id": int(i), "text": t[:TEXT_CHARS], "group": g[: GROUP_MAX // 4], VECTOR_FIELD: v}
                    for i, t, g, v in zip(ids[start:stop], texts[start:stop], groups[start:stop], vectors[start:stop])
                ]
                if keep_doc_ids:
                    written = list(doc_ids[start:stop]) if doc_ids is not None else [""] * len(rows)
                    for row, doc_id in zip(rows, written):
                        row[DOC_ID_FIELD] = doc_id or str(row["id"])
                write(name, rows)

    def remove_duplicates(self, name: str, batch_size: int = 4096) -> int:
        """Rewrite every id once (an upsert replaces all rows of an id); returns the rows removed.

        Reading returns one row per id even where a server holds several, so the rows read
        back are exactly the ones to keep."""
        before = self.row_count(name)
        f = self.fields(name)
        kept = [DOC_ID_FIELD] if self.has_doc_ids(name) else []
        for batch in self._row_batches(name, [*_readable(f, True), *kept], batch_size):
            self.insert(
                name,
                [int(row[f.id]) for row in batch],
                [row[f.text] for row in batch],
                [row[f.group] if f.group else "" for row in batch],
                np.asarray([row[f.vector] for row in batch], dtype=np.float32),
                [row[DOC_ID_FIELD] for row in batch] if kept else None,
            )
        with self._errors(f"flush {name}"):
            self.client.flush(name)
        return before - self.row_count(name)

    # --- index and load ------------------------------------------------------------------------

    def search(
        self, name: str, vectors: np.ndarray, top_k: int, nprobe: int | None = None, ef: int | None = None
    ) -> list[list[Hit]]:
        """Each vector's ``top_k`` nearest rows; ``nprobe`` (IVF) or ``ef`` (HNSW, raised to
        ``top_k`` when below it, as Milvus requires) set how wide the index search is."""
        if name not in self._loaded:
            self.ensure_loaded(name)  # an unindexed collection is refused in one line
        fields = self.fields(name)
        metric = self.external[name][1].index.metric if name in self.external else "L2"
        params = SearchParams(top_k, nprobe, metric, ef=max(ef, top_k) if ef else None)
        vectors = np.asarray(vectors, dtype=np.float32)
        step = self._search_batch(name, vectors.shape[1] if vectors.ndim == 2 else 1)
        doc_ids = self.has_doc_ids(name)
        text, group = fields.text, fields.group or ""
        out: list[list[Hit]] = []
        for start in range(0, len(vectors), step):
            with self._errors(f"search {name}"):
                results = self.client.search(
                    name,
                    data=list(vectors[start : start + step]),
                    limit=int(params.top_k),
                    output_fields=[*_readable(fields, vector=False)[1:], *([DOC_ID_FIELD] if doc_ids else [])],
                    search_params=params.search_params(),
                    anns_field=fields.vector,
                )
            out.extend(
                [
                    Hit(
                        int(h.get("id", h.get(fields.id))),
                        float(h["distance"]),
                        h["entity"].get(text, ""),
                        h["entity"].get(group, "") if group else "",
                        str(h["entity"].get(DOC_ID_FIELD) or h.get("id", h.get(fields.id))),
                    )
                    for h in hits
                ]
                for hits in results
            )
        return out

    def require_full_text(self, name: str) -> None:
        """One line when the collection has no full-text side, and what to do."""
        if not self.has_full_text(name):
            raise StoreError(
                f"collection {name} has no full-text side: rebuild it with --full-text "
                f"(with --recreate; {FULL_TEXT_NEEDS})"
            )

    def search_text(self, name: str, texts: Sequence[str], top_k: int) -> list[list[Hit]]:
        """Milvus's own BM25 search of the raw texts over the collection's full-text side.
        Distances follow the harness's convention, smaller is nearer: minus the BM25 score
        (Lite reports the score negated already, a server as it is)."""
        self.require_full_text(name)
        out: list[list[Hit]] = []
        for start in range(0, len(texts), SERVER_SEARCH_BATCH):
            with self._errors(f"full-text search {name}"):
                results = self.client.search(
                    name,
                    data=[str(t) for t in texts[start : start + SERVER_SEARCH_BATCH]],
                    limit=int(top_k),
                    output_fields=self._hit_fields(name),
                    search_params={"metric_type": "BM25", "params": {}},
                    anns_field=SPARSE_FIELD,
                )
            out.extend([self._hit(name, h, -abs(float(h["distance"]))) for h in hits] for hits in results)
        return out

    def hybrid_search(
        self,
        name: str,
        vectors: np.ndarray,
        texts: Sequence[str],
        top_k: int,
        fusion: Fusion,
        nprobe: int | None = None,
        ef: int | None = None,
        depth: int | None = None,
    ) -> list[list[Hit]]:
        """The dense search of ``vectors`` and the BM25 search of ``texts`` fused by Milvus
        (RRFRanker(k), or WeightedRanker(dense, full text)); each side searches ``depth``
        (default ``top_k``) deep. Distances are minus the fused score: smaller is nearer."""
        from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

        self.require_full_text(name)
        params = SearchParams(top_k, nprobe, "L2", ef=max(ef, top_k) if ef else None)
        deep = int(max(depth or top_k, top_k))
        ranker = RRFRanker(fusion.k) if fusion.weights is None else WeightedRanker(*fusion.weights)
        vectors = np.asarray(vectors, dtype=np.float32)
        step = self._search_batch(name, vectors.shape[1] if vectors.ndim == 2 else 1)
        out: list[list[Hit]] = []
        for start in range(0, len(vectors), step):
            requests = [
                AnnSearchRequest(list(vectors[start : start + step]), VECTOR_FIELD, params.search_params(), deep),
                AnnSearchRequest(
                    [str(t) for t in texts[start : start + step]], SPARSE_FIELD, {"metric_type": "BM25"}, deep
                ),
            ]
            with self._errors(f"hybrid search {name}"):
                results = self.client.hybrid_search(
                    name, requests, ranker, limit=int(top_k), output_fields=self._hit_fields(name)
                )
            out.extend([self._hit(name, h, -float(h["distance"])) for h in hits] for hits in results)
        return out

    def _hit_fields(self, name: str) -> list[str]:
        return [*_readable(self.fields(name), vector=False)[1:], *([DOC_ID_FIELD] if self.has_doc_ids(name) else [])]

    def _hit(self, name: str, found: dict, distance: float) -> Hit:
        fields = self.fields(name)
        entity = found.get("entity") or {}
        key = found["id"] if "id" in found else found[fields.id]
        return Hit(
            int(key),
            distance,
            entity.get(fields.text, ""),
            entity.get(fields.group, "") if fields.group else "",
            str(entity.get(DOC_ID_FIELD) or key),
        )

    def _search_batch(self, name: str, dimension: int) -> int:
        """Queries per search call: on Lite, as many as keep its search near LITE_SEARCH_BYTES."""
        if not self.is_lite:
            return SERVER_SEARCH_BATCH
        if name not in self._rows:
            with self._errors(f"stats of {name}"):
                self._rows[name] = int(self.client.get_collection_stats(name).get("row_count", 0))
        return int(max(1, min(SERVER_SEARCH_BATCH, LITE_SEARCH_BYTES // max(1, self._rows[name] * dimension * 8))))

    def rows(
        self, name: str, ids: Sequence[int] | None = None, vectors: bool = True, batch_size: int = 4096
    ) -> Iterator[RowBatch]:
        """Every row in batches, in the server's order; or the rows of ``ids``, in their order
        (a missing id fails). The collection is loaded first (a server reads only a loaded one)."""
        self.ensure_loaded(name)
        f = self.fields(name)
        fields = _readable(f, vectors)
        if ids is None:
            for batch in self._row_batches(name, fields, batch_size):
                yield _batch(f, batch, vectors)
            return
        for start in range(0, len(ids), batch_size):
            part = [int(i) for i in ids[start : start + batch_size]]
            found: dict[int, dict] = {}
            with self._errors(f"read rows of {name}"):
                for step in range(0, len(part), 1000):
                    for row in self.client.query(name, ids=part[step : step + 1000], output_fields=fields):
                        found[int(row[f.id])] = row
            missing = [i for i in part if i not in found]
            if missing:
                raise StoreError(f"collection {name} has no row with id {missing[0]} ({len(missing)} ids missing)")
            yield _batch(f, [found[i] for i in part], vectors)

    def _row_batches(self, name: str, output_fields: list[str], batch_size: int) -> Iterator[list[dict]]:
        import logging

        # pymilvus warns on every query_iterator against Lite (no server mvcc timestamp).
        logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
        with self._errors(f"read {name}"):
            iterator = self.client.query_iterator(name, batch_size=batch_size, output_fields=output_fields)
            try:
                while True:
                    batch = iterator.next()
                    if not batch:
                        break
                    yield batch
            finally:
                iterator.close()


def _batch(f: FieldNames, rows: list[dict], vectors: bool) -> RowBatch:
    return RowBatch(
        np.asarray([int(row[f.id]) for row in rows], dtype=np.int64),
        np.asarray([row[f.vector] for row in rows], dtype=np.float32).reshape(len(rows), -1) if vectors else None,
        [row[f.text] for row in rows],
        [row[f.group] if f.group else "" for row in rows],
    )


def _readable(fields: FieldNames, vector: bool) -> list[str]:
    """The fields a read returns: id, text, the group field when there is one, the vector if asked."""
    return [fields.id, fields.text, *([fields.group] if fields.group else []), *([fields.vector] if vector else [])]

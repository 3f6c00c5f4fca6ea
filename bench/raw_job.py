#!/usr/bin/env python
"""The comparison job written directly against the libraries, as a user without the harness
would: sentence-transformers, numpy and pymilvus. bench.py times it beside `harness compare`.

For each model: embed every corpus line, put the vectors in its own Milvus Lite collection
(IVF_FLAT, L2), embed the probes, search the top 10, and score them against the
relevance judgements (recall@10, MRR). Prints one JSON line of the figures.

    python bench/raw_job.py CORPUS PROBES QRELS DB MODEL_FOLDER [MODEL_FOLDER ...]
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import sys
import time

STARTED = time.perf_counter()

import numpy as np  # noqa: E402
from pymilvus import DataType, MilvusClient  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def text_id(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def corpus_lines(path: str) -> list[str]:
    seen, lines = set(), []
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if line and not line.startswith("#") and line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


def main(corpus: str, probes_path: str, qrels_path: str, db: str, models: list[str]) -> None:
    lines = corpus_lines(corpus)
    ids = [text_id(line) for line in lines]
    probes = list(csv.DictReader(open(probes_path, encoding="utf-8")))
    judged: dict[str, set[int]] = {}
    for row in csv.DictReader(open(qrels_path, encoding="utf-8")):
        if float(row["relevance"]) > 0:
            judged.setdefault(row["probe_id"], set()).add(int(row["corpus_id"]))
    client = MilvusClient(db)
    nlist = max(1, min(round(4 * math.sqrt(len(lines))), len(lines) // 39))
    figures = {}
    for folder in models:
        model = SentenceTransformer(folder, device="cpu")
        vectors = model.encode(lines, batch_size=64, convert_to_numpy=True)
        name = "raw_" + hashlib.sha1(folder.encode()).hexdigest()[:8]
        if client.has_collection(name):
            client.drop_collection(name)
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
        client.create_collection(name, schema=schema)
        client.insert(name, [{"id": i, "vector": v} for i, v in zip(ids, vectors.astype(np.float32))])
        client.flush(name)
        params = MilvusClient.prepare_index_params()
        params.add_index(
            "vector", index_type="IVF_FLAT", metric_type="L2", params={"nlist": nlist, "params": {"nlist": nlist}}
        )
        client.create_index(name, params)
        client.load_collection(name)
        probe_vectors = model.encode([p["text"] for p in probes], batch_size=64, convert_to_numpy=True)
        results = client.search(
            name,
            data=list(probe_vectors.astype(np.float32)),
            limit=10,
            search_params={"metric_type": "L2", "params": {"nprobe": 8}},
        )
        recall, rr = [], []
        for probe, hits in zip(probes, results):
            relevant = judged.get(probe["id"])
            if not relevant:
                continue
            found = [h["id"] for h in hits]
            recall.append(len(relevant & set(found)) / len(relevant))
            rr.append(next((1 / rank for rank, h in enumerate(found, 1) if h in relevant), 0.0))
        figures[folder] = {"recall_at_10": float(np.mean(recall)), "mrr": float(np.mean(rr))}
    client.close()
    print(json.dumps({"seconds": time.perf_counter() - STARTED, "models": figures}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])

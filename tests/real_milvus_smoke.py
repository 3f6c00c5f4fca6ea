"""Run inside a private network namespace: a real Milvus server (the embedded
``milvus`` 2.3.5 package), then harness ingest and query through it. Prints JSON."""

import json
import sys
import tempfile

from milvus import default_server


def main(corpus: str, model: str) -> None:
    base = tempfile.mkdtemp()
    default_server.set_base_dir(base)
    default_server.start()
    try:
        import harness
        from harness.inputs import probes_from_texts
        from harness.store import Store

        uri = f"http://127.0.0.1:{default_server.listen_port}"
        report = harness.ingest(corpus, [model], uri=uri, nlist=4, cache=False)
        again = harness.ingest(corpus, [model], uri=uri, nlist=4, cache=False)
        result = harness.query(
            probes_from_texts(["sweet little lamb", "the cold city street at night"]),
            uri=uri,
            top_k=5,
            repeats=3,
            metrics_url="http://127.0.0.1:9091/metrics",
            cache=False,
        )
        hnsw = harness.ingest(corpus, [model], uri=uri, prefix="hnsw", index="HNSW", cache=False)
        hnsw_name = hnsw.models[0].collection
        hnsw_result = harness.query(
            probes_from_texts(["sweet little lamb"]), [hnsw_name], uri=uri, top_k=5, ef=16, repeats=1, cache=False
        )
        with Store(uri) as store:
            info = store.describe(report.models[0].collection)
            hnsw_info = store.describe(hnsw_name)
            hnsw_meta = store.collection_meta(hnsw_name)
        print(
            json.dumps(
                {
                    "rows": info.rows,
                    "records": report.records,
                    "added_again": again.models[0].rows_added,
                    "nlist": info.nlist,
                    "index_type": info.index_type,
                    "hits": int((~result.hits["collection"].str.startswith("baseline:")).sum()),
                    "baselines": sorted(c for c in set(result.hits["collection"]) if c.startswith("baseline:")),
                    "hnsw_index": hnsw_info.index.to_dict(),
                    "hnsw_meta_index": hnsw_meta.index.to_dict(),
                    "hnsw_hits": int((hnsw_result.hits["collection"] == hnsw_name).sum()),
                    "hnsw_setting": hnsw_result.manifest["search"]["per_collection"][hnsw_name],
                    "hnsw_exact_overlap": float(hnsw_result.overlap["overlap_at_k_exact"].mean()),
                    "latency": result.latency.to_dict(orient="records"),
                    "backend": result.manifest["backend"],
                }
            )
        )
    finally:
        default_server.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

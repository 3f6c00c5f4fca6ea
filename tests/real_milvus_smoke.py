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
        with Store(uri) as store:
            info = store.describe(report.models[0].collection)
        print(
            json.dumps(
                {
                    "rows": info.rows,
                    "records": report.records,
                    "added_again": again.models[0].rows_added,
                    "nlist": info.nlist,
                    "index_type": info.index_type,
                    "hits": len(result.hits),
                    "latency": result.latency.to_dict(orient="records"),
                    "backend": result.manifest["backend"],
                }
            )
        )
    finally:
        default_server.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

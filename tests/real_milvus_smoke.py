"""Run inside a private network namespace: a real Milvus server (the embedded ``milvus``
2.3.5 package), then harness ingest and query through it, and the faults only a real
server shows. Prints one JSON line of figures.

1. ingest, re-ingest, query with server-side latency;
2. two ingests at once into one new collection (a server keeps a second row for an id
   inserted twice, so the harness writes by upsert there);
3. rows planted twice by a plain insert, repaired by the next ingest;
4. a restart, after which Milvus 2.3 reads back an earlier write of the collection's properties;
5. a restart with authentication on: a wrong token is named as such, the right one works.
"""

import json
import os
import subprocess
import sys
import tempfile

from milvus import default_server


def _ingest_processes(uri: str, corpus: str, model: str, prefix: str) -> list[int]:
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "ingest",
        "--corpus",
        corpus,
        "--uri",
        uri,
        "--model",
        model,
        "--prefix",
        prefix,
        "--chunk-size",
        "20",
        "--no-cache",
        "--nlist",
        "4",
    ]
    processes = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
        for _ in range(2)
    ]
    codes = []
    for process in processes:
        _, err = process.communicate(timeout=300)
        codes.append(process.returncode)
        if process.returncode:
            print(err.decode()[-2000:], file=sys.stderr)
    return codes


def _distinct(store, name: str) -> int:
    ids = set()
    for batch in store.rows(name, vectors=False):
        ids.update(batch.ids.tolist())
    return len(ids)


def main(corpus: str, model: str) -> None:
    base = tempfile.mkdtemp()
    default_server.set_base_dir(base)
    default_server.start()
    figures: dict = {}
    try:
        import harness
        from harness.errors import HarnessError
        from harness.inputs import probes_from_texts
        from harness.store import Store, incomplete_note

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
        name = report.models[0].collection
        hnsw = harness.ingest(corpus, [model], uri=uri, prefix="hnsw", index="HNSW", cache=False)
        hnsw_name = hnsw.models[0].collection
        hnsw_result = harness.query(
            probes_from_texts(["sweet little lamb"]), [hnsw_name], uri=uri, top_k=5, ef=16, repeats=1, cache=False
        )
        with Store(uri) as store:
            info = store.describe(name)
            hnsw_info = store.describe(hnsw_name)
            hnsw_meta = store.collection_meta(hnsw_name)
        figures.update(
            rows=info.rows,
            records=report.records,
            added_again=again.models[0].rows_added,
            nlist=info.nlist,
            index_type=info.index_type,
            hits=int((~result.hits["collection"].str.startswith("baseline:")).sum()),
            baselines=sorted(c for c in set(result.hits["collection"]) if c.startswith("baseline:")),
            hnsw_index=hnsw_info.index.to_dict(),
            hnsw_meta_index=hnsw_meta.index.to_dict(),
            hnsw_hits=int((hnsw_result.hits["collection"] == hnsw_name).sum()),
            hnsw_setting=hnsw_result.manifest["search"]["per_collection"][hnsw_name],
            hnsw_exact_overlap=float(hnsw_result.overlap["overlap_at_k_exact"].mean()),
            latency=result.latency.to_dict(orient="records"),
            backend=result.manifest["backend"],
        )

        # an index type Milvus 2.3 lacks: refused at the build, and the collection it made is dropped
        try:
            harness.ingest(corpus, [model], uri=uri, prefix="sq", index="HNSW_SQ", cache=False)
            figures["hnsw_sq"] = {"error": None}
        except HarnessError as exc:
            figures["hnsw_sq"] = {"error": str(exc)}
        with Store(uri) as store:
            figures["hnsw_sq"]["left"] = [c for c in store.harness_collections() if c.startswith("harness_sq")]

        codes = _ingest_processes(uri, corpus, model, "both")
        with Store(uri) as store:
            both = report.models[0].collection.replace("harness_", "harness_both_", 1)
            figures["concurrent"] = {"codes": codes, "rows": store.row_count(both), "distinct": _distinct(store, both)}

            _, vectors, texts, groups = harness.store.rows_of(
                store, name, [r.id for r in harness.inputs.CorpusReader(corpus)][:10]
            )
            ids = [r.id for r in harness.inputs.CorpusReader(corpus)][:10]
            store.client.insert(
                name,
                [
                    {"id": i, "text": t, "group": g, "vector": v, "doc_id": str(i)}
                    for i, t, g, v in zip(ids, texts, groups, vectors)
                ],
            )
            store.client.flush(name)
            planted = store.row_count(name)
        repaired = harness.ingest(corpus, [model], uri=uri, nlist=4, cache=False)
        with Store(uri) as store:
            figures["duplicates"] = {
                "planted_rows": planted,
                "removed": repaired.models[0].duplicates_removed,
                "rows_after": store.row_count(name),
                "distinct": _distinct(store, name),
            }
    finally:
        default_server.stop()

    default_server.start()  # the same data folder, restarted
    try:
        uri = f"http://127.0.0.1:{default_server.listen_port}"
        with Store(uri) as store:
            meta = store.collection_meta(name)
            figures["restart"] = {"complete": meta.complete, "note": incomplete_note(store, name, meta)}
        rerun = harness.ingest(corpus, [model], uri=uri, nlist=4, cache=False)
        with Store(uri) as store:
            figures["restart"]["after_ingest"] = {
                "added": rerun.models[0].rows_added,
                "complete": store.collection_meta(name).complete,
            }
    finally:
        default_server.stop()

    default_server.config.set("authorization_enabled", True)
    default_server.start()
    try:
        uri = f"http://127.0.0.1:{default_server.listen_port}"
        try:
            Store(uri, token="root:wrong", retries=3)
            figures["auth"] = {"wrong": "connected"}
        except HarnessError as exc:
            figures["auth"] = {"wrong": str(exc)}
        with Store(uri, token="root:Milvus") as store:
            figures["auth"]["right"] = len(store.harness_collections())
    finally:
        default_server.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

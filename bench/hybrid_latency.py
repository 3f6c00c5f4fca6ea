"""Search latency of Milvus's hybrid search against the dense search alone, on Milvus Lite.

Writes a synthetic corpus of ``--lines`` lines, ingests it with one model and a full-text
side, then times one-probe searches of each kind (dense, Milvus BM25, hybrid with RRF k 60)
after an untimed warm-up, the probes encoded beforehand, as the latency measure does.

    python bench/hybrid_latency.py --lines 10000 --model all-MiniLM-L6-v2 --work /tmp/hybrid-bench
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from synthetic import synthetic_lines, write_synthetic_corpus  # noqa: E402


def _cpu() -> str:
    """The CPU's model name (Linux), else the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10000)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/tmp/hybrid-bench"))
    args = parser.parse_args()

    from harness.ingestion import ingest
    from harness.models import load_model, resolve_model
    from harness.records import Fusion
    from harness.retrieval.timing import timed_searches
    from harness.store import collection_name, connect

    args.work.mkdir(parents=True, exist_ok=True)
    corpus = args.work / f"synthetic-{args.lines}.txt"
    if not corpus.exists():
        write_synthetic_corpus(corpus, args.lines)
    uri = str(args.work / "bench.db")
    ingest(corpus, [args.model], uri, full_text=True)
    probes = list(synthetic_lines(args.probes, seed=7))  # another seed: lines like the corpus's, not its own
    model = load_model(resolve_model(args.model))
    vectors = model.encode(probes, 64, role="query")
    name = collection_name(model.alias)
    store = connect(uri)
    try:
        store.ensure_loaded(name)
        index = np.arange(len(probes)).reshape(-1, 1)  # one probe per timed search
        searches = {
            "dense": lambda one: store.search(name, vectors[one[0][0] : one[0][0] + 1], 10, nprobe=8),
            "milvus-bm25": lambda one: store.search_text(name, probes[one[0][0] : one[0][0] + 1], 10),
            "hybrid": lambda one: store.hybrid_search(
                name, vectors[one[0][0] : one[0][0] + 1], probes[one[0][0] : one[0][0] + 1], 10, Fusion(60), nprobe=8
            ),
        }
        figures = {kind: timed_searches(search, index, args.repeats) for kind, search in searches.items()}
    finally:
        store.close()
        model.close()
    ratio = figures["hybrid"]["p50_ms"] / figures["dense"]["p50_ms"]
    print(
        json.dumps(
            {
                "lines": args.lines,
                "model": args.model,
                "cpu": _cpu(),
                "searches": {k: {m: round(v, 3) for m, v in f.items()} for k, f in figures.items()},
                "hybrid_p50_over_dense_p50": round(ratio, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

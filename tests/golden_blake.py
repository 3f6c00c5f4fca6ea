"""The Blake study on the fakes, whose every deterministic table is kept in tests/golden/blake/:
a change in how the study is computed must leave its figures as they are.

Regenerate (only after a deliberate change of a figure, saying why in the commit):

    PYTHONPATH=. python tests/golden_blake.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from conftest import CORPORA  # noqa: E402
from fakes import FakeEmbedder, FakeVariant, MemoryStore  # noqa: E402

GOLDEN = HERE / "golden" / "blake"
# Timings and memory differ run to run; everything else is a function of the inputs and the seed.
UNTIMED = {
    "cost": None,
    "fidelity": ("latency_queries", "latency_p50_ms", "latency_p95_ms"),
    "fidelity_summary": ("latency_p50_ms",),
    "latency": None,
}
SAME_AS = {"hits": "query_hits"}  # a study table kept once, under the query's name


class LossyIndex(MemoryStore):
    """Exact search, except that an index search (nprobe given) drops rows whose id is a multiple
    of 5: an index that loses recall, so index and exact figures differ."""

    def search(self, name, vectors, top_k, nprobe=None, ef=None):
        if nprobe is None:
            return super().search(name, vectors, top_k)
        found = super().search(name, vectors, 2 * top_k + 10)
        return [[h for h in hits if h.id % 5][:top_k] for hits in found]


def blake_store():
    from harness.ingestion import ingest_model, read_corpus
    from harness.records import IndexSpec

    reader, sha = read_corpus(CORPORA / "blake.txt")
    store = LossyIndex()
    a, b = FakeEmbedder("fake-a", 16), FakeEmbedder("fake-b", 16, seed=3)
    cut = FakeVariant(a, 8)
    for embedder in (a, b, cut):
        ingest_model(store, reader, embedder, sha, total_hint=reader.stats.records)
        store.collections[f"harness_{embedder.alias.replace('-', '_').replace('@', '_').replace('=', '_')}"][
            "index"
        ] = IndexSpec("IVF_FLAT", "L2", 22)
    by_alias = {e.alias: e for e in (a, b, cut)}
    return store, lambda ref: by_alias[ref.alias]


def blake_inputs():
    from harness.study import read_inputs

    return read_inputs(
        None,
        CORPORA / "pairs.csv",
        CORPORA / "graded-pairs.csv",
        CORPORA / "blake.qrels.csv",
        CORPORA / "blake.probes.csv",
    )


def _bm25s_defaults():
    """The golden copy was made with bm25s's own BM25 setting (the default before the
    reference one): it holds the figures of the computation, not the choice of setting."""
    from contextlib import contextmanager

    from harness.baselines import BM25S_DEFAULTS, bm25_settings, configure_bm25

    @contextmanager
    def kept():
        before = bm25_settings()
        configure_bm25(BM25S_DEFAULTS)
        try:
            yield
        finally:
            configure_bm25(before)

    return kept()


def blake_study():
    from harness.study import StudySettings, run_study

    store, load = blake_store()
    settings = StudySettings(top_k=10, nprobe=4, repeats=1, fidelity_sample=100, coherence_sample=300)
    with _bm25s_defaults():
        return run_study(store, None, blake_inputs(), settings, load)


def blake_query() -> dict[str, pd.DataFrame]:
    from harness.querying import run_query
    from harness.records import SearchParams

    store, load = blake_store()
    probes = blake_inputs().probes
    with _bm25s_defaults():
        result = run_query(
            store, probes, None, load, params=SearchParams(10, 4), repeats=0, baselines=("bm25", "hashing")
        )
    return {"query_hits": result.hits, "query_overlap": result.overlap, "query_agreement": result.agreement_summary()}


def deterministic(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in tables.items():
        if name in UNTIMED and UNTIMED[name] is None:
            continue
        if frame is None or frame.empty:
            continue
        dropped = [c for c in UNTIMED.get(name) or () if c in frame]
        out[name] = frame.drop(columns=dropped).reset_index(drop=True)
    return out


if __name__ == "__main__":
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for old in GOLDEN.glob("*.csv"):
        old.unlink()
    study = {k: v for k, v in deterministic(blake_study().tables).items() if k not in SAME_AS}
    for name, frame in {**study, **blake_query()}.items():
        frame.to_csv(GOLDEN / f"{name}.csv", index=False)
        print(name, frame.shape)

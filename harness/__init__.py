"""Compare sentence-embedding models through Milvus.

The notebook API mirrors the CLI: ``harness.ingest(corpus, models, uri)``, then
``harness.query(probes, collections, uri)`` and ``harness.evaluate(collections, uri)``;
``harness.align(old_collection, new_model, uri)`` fits maps for a migration without re-embedding;
``harness.compare(corpus, models, uri, probes=...)`` runs ingest, query and evaluate in one process.
Heavy libraries (torch, sentence-transformers, pymilvus) load only when they are used.
"""

__version__ = "0.1.0"

from harness.errors import HarnessError  # noqa: E402

_LAZY = {
    "ingest": "harness.ingestion",
    "IngestReport": "harness.ingestion",
    "query": "harness.querying",
    "QueryResult": "harness.querying",
    "evaluate": "harness.study",
    "Study": "harness.study",
    "align": "harness.aligning",
    "compare": "harness.experiment",
    "AlignResult": "harness.aligning",
}


def __getattr__(name):
    # Lazy so that `import harness` (and `harness --help`) stays fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = [
    "AlignResult",
    "HarnessError",
    "IngestReport",
    "QueryResult",
    "Study",
    "__version__",
    "align",
    "compare",
    "evaluate",
    "ingest",
    "query",
]

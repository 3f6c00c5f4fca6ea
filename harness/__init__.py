"""Compare sentence-embedding models through Milvus.

The notebook API mirrors the CLI: ``harness.ingest(...)`` then ``harness.query(...)``.
Heavy libraries (torch, sentence-transformers) load only when a model is used.
"""

__version__ = "0.1.0"

from harness.errors import HarnessError  # noqa: E402


_LAZY = {
    "ingest": "harness.ingestion",
    "IngestReport": "harness.ingestion",
    "query": "harness.querying",
    "QueryResult": "harness.querying",
}


def __getattr__(name):
    # Lazy so that `import harness` (and `harness --help`) stays fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = ["HarnessError", "__version__", "ingest", "query", "IngestReport", "QueryResult"]

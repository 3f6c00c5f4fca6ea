"""Retrieval: retrievers (a collection's dense side, the baselines), the runs they make
(a query set's ranked hits, by index or exact search) and the run book that keeps them, so
that every measure reads the same runs and each collection is scanned once per exact search."""

from harness.retrieval.book import RunBook
from harness.retrieval.fulltext import HybridRetriever, MilvusBM25Retriever
from harness.retrieval.queries import Queries
from harness.retrieval.retrievers import BaselineRetriever, CollectionRetriever, Retriever
from harness.retrieval.run import EXACT, HIT_COLUMNS, INDEX, Run, RunKey, hit_rows

__all__ = [
    "EXACT",
    "HIT_COLUMNS",
    "INDEX",
    "BaselineRetriever",
    "CollectionRetriever",
    "HybridRetriever",
    "MilvusBM25Retriever",
    "Queries",
    "Retriever",
    "Run",
    "RunBook",
    "RunKey",
    "hit_rows",
]

"""Build one Milvus collection per model from a corpus: :mod:`harness.ingestion.pipeline` (the
options, the corpus, every model in turn) and :mod:`harness.ingestion.collection` (one model's
collection, resumable)."""

from harness.ingestion.collection import ModelIngest, ingest_model
from harness.ingestion.pipeline import IngestReport, ingest, prepare_ingest, read_corpus, run_ingest

__all__ = ["IngestReport", "ModelIngest", "ingest", "ingest_model", "prepare_ingest", "read_corpus", "run_ingest"]

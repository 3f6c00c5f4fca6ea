"""Read the user's files (corpus, probes, labelled pairs, relevance judgements) through one
line-numbered reader, streaming, with one-line errors that name the file and the line.

Corpus formats: ``.txt`` (one sentence a line; a blank line or a ``# title`` line starts a
new group), ``.jsonl``, ``.csv`` and ``.parquet`` (a text column, optional id and group
columns; a BEIR corpus.jsonl with ``_id`` and ``title``). A BEIR-layout folder is read whole
by :func:`read_dataset`. Record ids are int64: the corpus's own id where it has one, otherwise a hash of
the text, so re-ingesting the same corpus finds the rows it already holds. Pairs and
qrels files are CSV with a header (qrels also BEIR's TSV).
"""

from harness.inputs.beir import Dataset, read_dataset
from harness.inputs.corpus import (
    CorpusReader,
    CorpusStats,
    chunked,
    default_probe_file,
    load_corpus,
    load_probes,
    probes_from_texts,
)
from harness.inputs.judged import check_qrels_ids, read_pairs, read_qrels
from harness.inputs.lines import BEIR_TEMPLATE, FORMATS, InputError, Source, csv_rows, file_sha256
from harness.records import record_id, text_id

__all__ = [
    "BEIR_TEMPLATE",
    "Dataset",
    "read_dataset",
    "FORMATS",
    "CorpusReader",
    "CorpusStats",
    "InputError",
    "Source",
    "check_qrels_ids",
    "chunked",
    "csv_rows",
    "default_probe_file",
    "file_sha256",
    "load_corpus",
    "load_probes",
    "probes_from_texts",
    "read_pairs",
    "read_qrels",
    "record_id",
    "text_id",
]

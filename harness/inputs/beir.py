"""Datasets in BEIR's layout, the layout of the standard retrieval benchmarks (BEIR, MTEB):

    DIR/corpus.jsonl         {"_id": ..., "title": ..., "text": ...} a line
    DIR/queries.jsonl        {"_id": ..., "text": ...} a line
    DIR/qrels/<split>.tsv    query-id <tab> corpus-id <tab> score, with that header

Ids are kept as given: a corpus id becomes the int64 primary key as every corpus id does
(:func:`harness.records.record_id`: an integer stays, a string is hashed) and is kept as
written beside it; queries keep theirs as probe ids. A document's text is
``document_template`` filled with its fields, by default title + " " + text as MTEB encodes
it (a document without a title is its text alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.inputs.corpus import CorpusReader, load_probes
from harness.inputs.judged import read_qrels
from harness.inputs.lines import BEIR_TEMPLATE, InputError
from harness.records import Probe

CORPUS_FILE = "corpus.jsonl"
QUERIES_FILE = "queries.jsonl"
QRELS_FOLDER = "qrels"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A BEIR-layout dataset, read and checked whole: ``corpus`` streams the documents again
    for an ingest (its ``stats`` are those of the full read), ``probes`` are the queries and
    ``qrels`` the judgements of ``split``, in the frame :func:`read_qrels` returns. The
    probes are the queries the split judges (queries.jsonl holds every split's)."""

    folder: Path
    split: str
    document_template: str
    corpus: CorpusReader
    corpus_sha256: str
    probes: list[Probe]
    qrels: pd.DataFrame

    @property
    def corpus_path(self) -> Path:
        return self.folder / CORPUS_FILE

    @property
    def probes_path(self) -> Path:
        return self.folder / QUERIES_FILE

    @property
    def qrels_path(self) -> Path:
        return qrels_path(self.folder, self.split)


def qrels_path(folder: str | Path, split: str) -> Path:
    return Path(folder) / QRELS_FOLDER / f"{split}.tsv"


def _check_layout(folder: Path, split: str) -> None:
    if not folder.is_dir():
        raise InputError(f"dataset folder not found: {folder}")
    for name in (CORPUS_FILE, QUERIES_FILE):
        if not (folder / name).is_file():
            raise InputError(
                f"dataset {folder}: no {name} (a BEIR-layout folder holds {CORPUS_FILE}, {QUERIES_FILE}, "
                f"{QRELS_FOLDER}/<split>.tsv)"
            )
    judged = qrels_path(folder, split)
    if not judged.is_file():
        splits = (
            sorted(p.stem for p in (folder / QRELS_FOLDER).glob("*.tsv")) if (folder / QRELS_FOLDER).is_dir() else []
        )
        have = f"splits there: {', '.join(splits)}" if splits else f"no {QRELS_FOLDER}/*.tsv there"
        raise InputError(f"dataset {folder}: no {QRELS_FOLDER}/{split}.tsv for --split {split} ({have})")


def read_dataset(folder: str | Path, split: str = "test", document_template: str = BEIR_TEMPLATE) -> Dataset:
    """Read and check a BEIR-layout folder; any bad line fails (naming its file and line)
    before anything is ingested or searched."""
    folder = Path(folder)
    _check_layout(folder, split)
    corpus = CorpusReader(folder / CORPUS_FILE, id_column="_id", document_template=document_template, unique_ids=True)
    corpus_ids = {record.id for record in corpus}  # the full read: every corpus line checked
    probes = load_probes(folder / QUERIES_FILE)
    qrels = read_qrels(qrels_path(folder, split), [p.id for p in probes], folder / QUERIES_FILE, corpus_ids)
    judged = set(qrels["probe_id"])
    # queries.jsonl holds every split's queries: the split's are the ones it judges
    return Dataset(
        folder, split, document_template, corpus, corpus.sha256(), [p for p in probes if p.id in judged], qrels
    )

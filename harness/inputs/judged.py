"""The study's judged inputs: labelled and graded sentence pairs, and relevance judgements."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import pandas as pd

from harness.inputs.lines import InputError, Source, csv_rows
from harness.records import record_id


def _table_rows(source: Source, required: Sequence[str], delimiter: str = ",") -> Iterator[tuple[int, dict]]:
    """Non-blank rows of a CSV (or TSV) study input."""
    source.check(formats=None)
    for number, row in csv_rows(source, required, delimiter):
        if any((v or "").strip() for v in row.values() if isinstance(v, str)):
            yield number, row


def _number(source: Source, value: str | None, number: int, column: str) -> float:
    try:
        parsed = float((value or "").strip())
    except ValueError:
        parsed = float("nan")
    if not math.isfinite(parsed):
        raise source.fail(f": line {number}: unparseable {column} {value!r}")
    return parsed


def read_pairs(path: str | Path, kind: str = "auto") -> pd.DataFrame:
    """Sentence pairs: sentence1,sentence2,label (1/0) or sentence1,sentence2,score (any range).

    Returns columns sentence1, sentence2, gold, line and ``attrs["kind"]`` = "label" or "score".
    """
    path = Path(path)
    source = Source(path, "graded pairs" if kind == "score" else "pairs", InputError)
    if kind == "auto":
        header = next(iter(_table_rows(source, ["sentence1", "sentence2"])), None)
        kind = "label" if header and "label" in header[1] else "score"
    column = "label" if kind == "label" else "score"
    rows = []
    for number, row in _table_rows(source, ["sentence1", "sentence2", column]):
        s1, s2 = (row.get("sentence1") or "").strip(), (row.get("sentence2") or "").strip()
        if not s1 or not s2:
            raise source.fail(f": line {number}: empty sentence1 or sentence2")
        gold = _number(source, row.get(column), number, column)
        if kind == "label" and gold not in (0.0, 1.0):
            raise source.fail(f": line {number}: label must be 1 or 0, not {row.get(column)!r}")
        rows.append({"sentence1": s1, "sentence2": s2, "gold": gold, "line": number})
    if not rows:
        raise source.fail(" has no pairs")
    frame = pd.DataFrame(rows)
    frame.attrs["kind"] = kind
    return frame


# The qrels columns: the harness's CSV names, or BEIR's (qrels/<split>.tsv).
QRELS_COLUMNS = ("probe_id", "corpus_id", "relevance")
BEIR_QRELS_COLUMNS = ("query-id", "corpus-id", "score")


def _qrels_layout(source: Source) -> tuple[str, tuple[str, str, str]]:
    """(delimiter, column names): tab for ``.tsv``; BEIR's names when the header has them."""
    delimiter = "\t" if source.path.suffix.lower() == ".tsv" else ","
    try:
        with open(source.path, encoding="utf-8-sig", errors="replace") as handle:
            header = handle.readline()
    except OSError:
        header = ""
    names = [name.strip() for name in header.split(delimiter)]
    return delimiter, BEIR_QRELS_COLUMNS if BEIR_QRELS_COLUMNS[0] in names else QRELS_COLUMNS


def _unknown_probe(known: set[str], probe_file: str | Path | None) -> str:
    """Why a judged probe id is not among the probes, in words."""
    where = f"probe file {probe_file}" if probe_file else "the probe file"
    numbered = {f"p{i}" for i in range(1, len(known) + 1)}
    if known and known == numbered:
        return (
            f"not in {where}, whose probes are numbered p1..p{len(known)} "
            "(it has no id or _id column: give it the ids the qrels use)"
        )
    return f"not in {where}"


def read_qrels(
    path: str | Path,
    probe_ids: Iterable[str] | None = None,
    probe_file: str | Path | None = None,
    corpus_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """probe_id, corpus_id (mapped with record_id), relevance, line.

    A CSV with ``probe_id,corpus_id,relevance`` or BEIR's ``query-id``, ``corpus-id``,
    ``score`` (tab-separated in a ``.tsv``). An unknown probe id (not in ``probe_ids``, the
    ids of ``probe_file``) and, with ``corpus_ids``, an unknown corpus id fail with the line."""
    source = Source(Path(path), "qrels", InputError)
    source.check(formats=None)
    delimiter, (probe_column, corpus_column, relevance_column) = _qrels_layout(source)
    known = set(probe_ids) if probe_ids is not None else None
    documents = set(int(i) for i in corpus_ids) if corpus_ids is not None else None
    rows = []
    for number, row in _table_rows(source, [probe_column, corpus_column, relevance_column], delimiter):
        probe = (row.get(probe_column) or "").strip()
        corpus = (row.get(corpus_column) or "").strip()
        if not probe or not corpus:
            raise source.fail(f": line {number}: empty {probe_column} or {corpus_column}")
        if known is not None and probe not in known:
            raise source.fail(f": line {number}: unknown probe id {probe!r} ({_unknown_probe(known, probe_file)})")
        relevance = _number(source, row.get(relevance_column), number, relevance_column)
        corpus_id = record_id(corpus)
        if documents is not None and corpus_id not in documents:
            raise source.fail(f": line {number}: unknown corpus id {corpus!r} (not in the corpus)")
        rows.append({"probe_id": probe, "corpus_id": corpus_id, "relevance": relevance, "line": number})
    if not rows:
        raise source.fail(" has no judgements")
    return pd.DataFrame(rows)


def check_qrels_ids(qrels: pd.DataFrame, corpus_ids: Iterable[int], path: str | Path, collection: str) -> None:
    """Every judged corpus id must be in the collection (``corpus_ids``: the ones it holds)."""
    known = set(int(i) for i in corpus_ids)
    for row in qrels.itertuples(index=False):
        if int(row.corpus_id) not in known:
            raise InputError(
                f"qrels file {path}: line {row.line}: unknown corpus id {row.corpus_id} "
                f"(not in collection {collection})"
            )

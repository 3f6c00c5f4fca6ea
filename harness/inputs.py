"""Read the user's files (corpus, probes, labelled pairs, relevance judgements) through one
line-numbered reader, streaming, with one-line errors that name the file and the line.

Corpus formats: ``.txt`` (one sentence a line; a blank line or a ``# title`` line starts a
new group), ``.jsonl``, ``.csv`` and ``.parquet`` (a text column, optional id and group
columns). Record ids are int64: the corpus's own id where it has one, otherwise a hash of
the text, so re-ingesting the same corpus finds the rows it already holds. Pairs and
qrels files are CSV with a header.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import pandas as pd

from harness.errors import CorpusError, HarnessError
from harness.records import Probe, Record, record_id, text_id

FORMATS = (".txt", ".jsonl", ".csv", ".parquet")


class InputError(HarnessError):
    """A pairs, graded pairs or qrels file the study cannot use."""


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Source:
    """A file of one kind; messages read "<kind> file not found" and "<label> PATH: line N"."""

    path: Path
    kind: str  # corpus, probe, pairs, graded pairs, qrels
    error: type[HarnessError] = CorpusError

    @property
    def label(self) -> str:
        return self.kind if self.kind == "corpus" else f"{self.kind} file"

    def fail(self, message: str) -> HarnessError:
        return self.error(f"{self.label} {self.path}{message}")

    def check(self, formats: Sequence[str] | None = FORMATS) -> None:
        if not self.path.exists():
            raise self.error(f"{self.kind} file not found: {self.path}")
        if self.path.is_dir():
            raise self.error(f"{self.kind} path is a directory, not a file: {self.path}")
        if formats and self.path.suffix.lower() not in formats:
            raise self.error(
                f"{self.kind} file {self.path} has an unsupported extension {self.path.suffix!r}; "
                f"use one of {', '.join(formats)}"
            )


# --- the line-numbered reader ---------------------------------------------------------------


def _decoded_lines(source: Source) -> Iterator[tuple[int, str]]:
    """(line number, text without newline), failing on the first undecodable line."""
    with open(source.path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise source.fail(
                    f": line {number} is not valid UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                ) from None
            yield number, line.rstrip("\r\n")


def _txt_rows(source: Source) -> Iterator[tuple[int, dict]]:
    groups = 0
    title: str | None = None
    group: str | None = None  # None until the current group has a line
    for number, line in _decoded_lines(source):
        stripped = line.strip()
        if stripped.startswith("#"):
            title, group = stripped.lstrip("#").strip() or None, None
            continue
        if not stripped:
            if group is not None:
                title, group = None, None
            yield number, {"text": ""}
            continue
        if group is None:
            groups += 1
            group = title or f"group {groups}"
        yield number, {"text": stripped, "group": group}


def _jsonl_rows(source: Source) -> Iterator[tuple[int, dict]]:
    for number, line in _decoded_lines(source):
        if not line.strip():
            yield number, {}
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise source.fail(f": line {number} is not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise source.fail(f": line {number} is not a JSON object")
        yield number, row


def csv_rows(source: Source, required: Sequence[str] = ()) -> Iterator[tuple[int, dict]]:
    """(line number, row) of a CSV file with a header; ``required`` columns are checked first."""
    lines = _decoded_lines(source)
    numbers: list[int] = []

    def texts() -> Iterator[str]:
        for number, line in lines:
            numbers.append(number)
            yield line

    reader = csv.DictReader(texts())
    try:
        header = reader.fieldnames
        if header is None:
            raise source.fail(" is empty (no header line)")
        missing = [c for c in required if c not in header]
        if missing:
            raise source.fail(f": line 1: missing column {', '.join(missing)} (columns: {', '.join(header)})")
        for row in reader:
            yield numbers[-1], row
    except csv.Error as exc:
        raise source.fail(f": line {numbers[-1] if numbers else 1}: {exc}") from None


def _parquet_rows(source: Source) -> Iterator[tuple[int, dict]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CorpusError("reading .parquet needs pyarrow: pip install pyarrow") from None
    try:
        parquet = pq.ParquetFile(source.path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise source.fail(f" is not a readable Parquet file ({exc})") from None
    number = 0
    for batch in parquet.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            number += 1
            yield number, row


_READERS = {".txt": _txt_rows, ".jsonl": _jsonl_rows, ".csv": csv_rows, ".parquet": _parquet_rows}


def _columns_rows(
    source: Source, text_column: str, id_column: str | None, group_column: str | None
) -> Iterator[tuple[int, str, object, str | None]]:
    """(line, text, own id or None, group or None) for every row, empty texts included."""
    suffix = source.path.suffix.lower()
    checked = False
    for number, row in _READERS[suffix](source):
        if suffix == ".txt":
            yield number, row["text"], None, row.get("group")
            continue
        if not row:
            yield number, "", None, None
            continue
        if not checked:
            if text_column not in row:
                raise source.fail(
                    f": no column {text_column!r} (columns: {', '.join(map(str, row))}); choose one with --text-column"
                )
            for name, option in ((id_column, "--id-column"), (group_column, "--group-column")):
                if name and name not in row and name not in {"id", "group"}:
                    raise source.fail(f": no column {name!r} given by {option}")
            checked = True
        text = row.get(text_column)
        own_id = row.get(id_column) if id_column else None
        group = row.get(group_column) if group_column else None
        yield (
            number,
            "" if text is None else str(text).strip(),
            None if own_id in (None, "") else own_id,
            None if group in (None, "") else str(group),
        )


# --- corpus ----------------------------------------------------------------------------------


@dataclass
class CorpusStats:
    """Counts gathered while a corpus is read; complete once iteration ends."""

    lines: int = 0
    records: int = 0
    empty: int = 0
    duplicates: int = 0
    groups: set[str] = field(default_factory=set)


class CorpusReader:
    """Iterates a corpus file as unique Records; ``stats`` fills in as it goes.

    Duplicate ids (the same text, or a repeated own id) keep their first occurrence.
    """

    def __init__(
        self,
        path: str | Path,
        text_column: str = "text",
        id_column: str | None = "id",
        group_column: str | None = "group",
    ):
        self.path = Path(path)
        self.source = Source(self.path, "corpus")
        self.source.check()
        self.text_column = text_column
        self.id_column = id_column
        self.group_column = group_column
        self.stats = CorpusStats()

    def __iter__(self) -> Iterator[Record]:
        self.stats = stats = CorpusStats()
        seen: set[int] = set()
        for _, text, own_id, group in _columns_rows(self.source, self.text_column, self.id_column, self.group_column):
            stats.lines += 1
            if not text:
                stats.empty += 1
                continue
            rid = text_id(text) if own_id is None else record_id(own_id)
            if rid in seen:
                stats.duplicates += 1
                continue
            seen.add(rid)
            group = group or ""
            stats.groups.add(group)
            stats.records += 1
            yield Record(rid, text, group)
        if stats.records == 0:
            raise CorpusError(f"corpus {self.path} has no usable lines")

    def sha256(self) -> str:
        return file_sha256(self.path)


def load_corpus(path: str | Path, **columns) -> tuple[list[Record], CorpusStats]:
    """Whole corpus in memory: convenient in a notebook for small corpora."""
    reader = CorpusReader(path, **columns)
    records = list(reader)
    return records, reader.stats


def chunked(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- probes ------------------------------------------------------------------------------------


def load_probes(path: str | Path) -> list[Probe]:
    """Probe sentences: a .txt file (one a line) or a table with a text column and optional id."""
    source = Source(Path(path), "probe")
    source.check()
    probes: list[Probe] = []
    seen: set[str] = set()
    for number, text, own_id, _ in _columns_rows(source, "text", "id", None):
        if not text:
            continue
        probe_id = str(own_id) if own_id is not None else f"p{len(probes) + 1}"
        if probe_id in seen:
            raise source.fail(f": line {number} repeats probe id {probe_id!r}")
        seen.add(probe_id)
        probes.append(Probe(probe_id, text))
    if not probes:
        raise source.fail(" has no probes")
    return probes


def probes_from_texts(texts: Iterable[str]) -> list[Probe]:
    probes = [Probe(f"p{i}", t.strip()) for i, t in enumerate(texts, start=1) if t.strip()]
    if not probes:
        raise CorpusError("no probe text given")
    return probes


def default_probe_file(corpus: str | Path) -> Path | None:
    """``corpora/blake.txt`` -> ``corpora/blake.probes.csv`` (or .txt/.jsonl), if it exists."""
    corpus = Path(corpus)
    for suffix in (".csv", ".txt", ".jsonl"):
        candidate = corpus.with_name(f"{corpus.stem}.probes{suffix}")
        if candidate.exists():
            return candidate
    return None


# --- pairs and relevance judgements --------------------------------------------------------------


def _table_rows(source: Source, required: Sequence[str]) -> Iterator[tuple[int, dict]]:
    """Non-blank rows of a CSV study input."""
    source.check(formats=None)
    for number, row in csv_rows(source, required):
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


def read_qrels(path: str | Path, probe_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """probe_id, corpus_id (mapped with record_id), relevance, line. Unknown probe ids fail."""
    source = Source(Path(path), "qrels", InputError)
    known = set(probe_ids) if probe_ids is not None else None
    rows = []
    for number, row in _table_rows(source, ["probe_id", "corpus_id", "relevance"]):
        probe = (row.get("probe_id") or "").strip()
        corpus = (row.get("corpus_id") or "").strip()
        if not probe or not corpus:
            raise source.fail(f": line {number}: empty probe_id or corpus_id")
        if known is not None and probe not in known:
            raise source.fail(f": line {number}: unknown probe id {probe!r} (not in the probe file)")
        relevance = _number(source, row.get("relevance"), number, "relevance")
        rows.append({"probe_id": probe, "corpus_id": record_id(corpus), "relevance": relevance, "line": number})
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

"""Read corpora and probe files into records, streaming, with clear errors for bad input.

Formats: ``.txt`` (one sentence a line; a blank line or a ``# title`` line starts a new
group), ``.jsonl``, ``.csv`` and ``.parquet`` (a text column, optional id and group
columns). Record ids are int64: the corpus's own id where it has one, otherwise a hash
of the text, so re-ingesting the same corpus finds the rows it already holds.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from harness.errors import CorpusError

FORMATS = (".txt", ".jsonl", ".csv", ".parquet")
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Record:
    id: int
    text: str
    group: str


@dataclass(frozen=True)
class Probe:
    id: str
    text: str


def text_id(text: str) -> int:
    """Stable non-negative int64 id derived from a text."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def record_id(value: object) -> int:
    """The int64 id of a corpus row from its own id column: the integer itself, else a hash."""
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int) and -INT64_MAX <= value <= INT64_MAX:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    try:
        number = int(text)
        if -INT64_MAX <= number <= INT64_MAX:
            return number
    except ValueError:
        pass
    return text_id(text)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class CorpusStats:
    """Counts gathered while a corpus is read; complete once iteration ends."""

    lines: int = 0
    records: int = 0
    empty: int = 0
    duplicates: int = 0
    groups: set[str] = field(default_factory=set)


def _check_path(path: Path, what: str) -> None:
    if not path.exists():
        raise CorpusError(f"{what} file not found: {path}")
    if path.is_dir():
        raise CorpusError(f"{what} path is a directory, not a file: {path}")
    if path.suffix.lower() not in FORMATS:
        raise CorpusError(
            f"{what} file {path} has an unsupported extension {path.suffix!r}; use one of {', '.join(FORMATS)}"
        )


def _decoded_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """(line number, text without newline), failing on the first undecodable line."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise CorpusError(
                    f"{what} {path}: line {number} is not valid UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                ) from None
            yield number, line.rstrip("\r\n")


def _txt_rows(path: Path, what: str) -> Iterator[tuple[int, dict]]:
    groups = 0
    title: str | None = None
    group: str | None = None  # None until the current group has a line
    for number, line in _decoded_lines(path, what):
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


def _jsonl_rows(path: Path, what: str) -> Iterator[tuple[int, dict]]:
    for number, line in _decoded_lines(path, what):
        if not line.strip():
            yield number, {}
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{what} {path}: line {number} is not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise CorpusError(f"{what} {path}: line {number} is not a JSON object")
        yield number, row


def _csv_rows(path: Path, what: str) -> Iterator[tuple[int, dict]]:
    lines = _decoded_lines(path, what)
    numbers: list[int] = []

    def texts() -> Iterator[str]:
        for number, line in lines:
            numbers.append(number)
            yield line

    reader = csv.DictReader(texts())
    try:
        for row in reader:
            yield numbers[-1], row
    except csv.Error as exc:
        raise CorpusError(f"{what} {path}: line {numbers[-1] if numbers else 1}: {exc}") from None
    if reader.fieldnames is None:
        raise CorpusError(f"{what} {path} is empty (no header line)")


def _parquet_rows(path: Path, what: str) -> Iterator[tuple[int, dict]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CorpusError("reading .parquet needs pyarrow: pip install pyarrow") from None
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise CorpusError(f"{what} {path} is not a readable Parquet file ({exc})") from None
    number = 0
    for batch in parquet.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            number += 1
            yield number, row


_READERS = {".txt": _txt_rows, ".jsonl": _jsonl_rows, ".csv": _csv_rows, ".parquet": _parquet_rows}


def _columns_rows(
    path: Path, what: str, text_column: str, id_column: str | None, group_column: str | None
) -> Iterator[tuple[int, str, object, str | None]]:
    """(line, text, own id or None, group or None) for every row, empty texts included."""
    suffix = path.suffix.lower()
    checked = False
    for number, row in _READERS[suffix](path, what):
        if suffix == ".txt":
            yield number, row["text"], None, row.get("group")
            continue
        if not row:
            yield number, "", None, None
            continue
        if not checked:
            if text_column not in row:
                raise CorpusError(
                    f"{what} {path}: no column {text_column!r} (columns: {', '.join(map(str, row))}); choose one with --text-column"
                )
            for name, option in ((id_column, "--id-column"), (group_column, "--group-column")):
                if name and name not in row and name not in {"id", "group"}:
                    raise CorpusError(f"{what} {path}: no column {name!r} given by {option}")
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
        _check_path(self.path, "corpus")
        self.text_column = text_column
        self.id_column = id_column
        self.group_column = group_column
        self.stats = CorpusStats()

    def __iter__(self) -> Iterator[Record]:
        self.stats = stats = CorpusStats()
        seen: set[int] = set()
        for _, text, own_id, group in _columns_rows(
            self.path, "corpus", self.text_column, self.id_column, self.group_column
        ):
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


def load_probes(path: str | Path) -> list[Probe]:
    """Probe sentences: a .txt file (one a line) or a table with a text column and optional id."""
    path = Path(path)
    _check_path(path, "probe")
    probes: list[Probe] = []
    seen: set[str] = set()
    for number, text, own_id, _ in _columns_rows(path, "probe file", "text", "id", None):
        if not text:
            continue
        probe_id = str(own_id) if own_id is not None else f"p{len(probes) + 1}"
        if probe_id in seen:
            raise CorpusError(f"probe file {path}: line {number} repeats probe id {probe_id!r}")
        seen.add(probe_id)
        probes.append(Probe(probe_id, text))
    if not probes:
        raise CorpusError(f"probe file {path} has no probes")
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

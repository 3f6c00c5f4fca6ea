"""Corpus and probe files: unique records with their groups, and probe sentences."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from harness.errors import CorpusError
from harness.inputs.lines import BEIR_TEMPLATE, Source, check_template, columns_rows, file_sha256
from harness.records import DOC_ID_MAX, Probe, Record, record_id, text_id


@dataclass
class CorpusStats:
    """Counts gathered while a corpus is read; complete once iteration ends."""

    lines: int = 0
    records: int = 0
    empty: int = 0
    duplicates: int = 0  # repeated texts (their id is the text's hash)
    duplicate_ids: int = 0  # rows repeating an own id with the same text
    groups: set[str] = field(default_factory=set)


class CorpusReader:
    """Iterates a corpus file as unique Records; ``stats`` fills in as it goes.

    A repeated text (no id column) or a repeated own id with the same text keeps its first
    occurrence and is counted (``unique_ids``: a repeated own id is an error, as in a
    benchmark's corpus). Two ids that would be stored as one ("001" and "1"), or one id with
    two different texts, is an error naming both lines: either would lose a row.

    ``document_template`` (``{title} {text}``) builds each row's text from its fields; a
    BEIR corpus.jsonl (``_id``, ``title``, ``text``) is read so by default.
    """

    def __init__(
        self,
        path: str | Path,
        text_column: str = "text",
        id_column: str | None = "id",
        group_column: str | None = "group",
        document_template: str | None = None,
        unique_ids: bool = False,
    ):
        self.path = Path(path)
        self.source = Source(self.path, "corpus")
        self.source.check()
        if document_template is not None:
            check_template(document_template)
        self.text_column = text_column
        self.id_column = id_column
        self.group_column = group_column
        self.document_template = document_template
        self.unique_ids = unique_ids
        self.stats = CorpusStats()

    def __iter__(self) -> Iterator[Record]:
        self.stats = stats = CorpusStats()
        seen: set[int] = set()
        owned: dict[int, tuple[int, int, str]] = {}  # own id -> (line, text hash, id as written)
        for number, text, own_id, group in columns_rows(
            self.source, self.text_column, self.id_column, self.group_column, self.document_template
        ):
            stats.lines += 1
            if not text:
                stats.empty += 1
                continue
            written = ""
            if own_id is None:
                rid = text_id(text)
                if rid in seen:
                    stats.duplicates += 1
                    continue
            else:
                rid = record_id(own_id)
                written = str(rid) if isinstance(own_id, (int, float)) else str(own_id).strip()
                if rid in owned:
                    self._repeated_id(number, written, text, owned[rid])
                    stats.duplicate_ids += 1
                    continue
                if len(written.encode("utf-8")) > DOC_ID_MAX:
                    raise self.source.fail(f": line {number}: id longer than {DOC_ID_MAX} bytes")
                owned[rid] = (number, text_id(text), written)
            seen.add(rid)
            group = group or ""
            stats.groups.add(group)
            stats.records += 1
            yield Record(rid, text, group, written)
        if stats.records == 0:
            raise CorpusError(f"corpus {self.path} has no usable lines")

    def _repeated_id(self, number: int, written: str, text: str, first: tuple[int, int, str]) -> None:
        line, text_hash, first_written = first
        if self.unique_ids and written == first_written:
            raise self.source.fail(f": line {number}: id {written!r} repeats line {line}; ids must be unique")
        if written != first_written:
            raise self.source.fail(
                f": line {number}: id {written!r} is stored as the same id as {first_written!r} on line {line}; "
                "make the ids distinct"
            )
        if text_id(text) != text_hash:
            raise self.source.fail(f": line {number}: id {written!r} repeats line {line} with a different text")

    def sha256(self) -> str:
        """The file's sha256; with a template other than the default one, of the file and
        the template (the texts differ, so the collection must too)."""
        digest = file_sha256(self.path)
        if self.document_template in (None, BEIR_TEMPLATE):
            return digest
        return hashlib.sha256(f"{digest}|{self.document_template}".encode()).hexdigest()


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
    for number, text, own_id, _ in columns_rows(source, "text", "id", None):
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

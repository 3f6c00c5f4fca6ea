"""The one line-numbered reader: every format's rows with the number of the line they came
from, and errors that name the file and the line."""

from __future__ import annotations

import csv
import hashlib
import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from harness.errors import CorpusError, HarnessError

FORMATS = (".txt", ".jsonl", ".csv", ".parquet")
# A document of a BEIR corpus as MTEB encodes it: title, a space, text (stripped, so a
# document without a title is its text alone).
BEIR_TEMPLATE = "{title} {text}"
BEIR_ID = "_id"


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


def csv_rows(source: Source, required: Sequence[str] = (), delimiter: str = ",") -> Iterator[tuple[int, dict]]:
    """(line number, row) of a CSV (or, with ``delimiter`` tab, TSV) file with a header;
    ``required`` columns are checked first."""
    lines = _decoded_lines(source)
    numbers: list[int] = []

    def texts() -> Iterator[str]:
        for number, line in lines:
            numbers.append(number)
            yield line

    reader = csv.DictReader(texts(), delimiter=delimiter)
    try:
        header = reader.fieldnames
        if header is None:
            raise source.fail(" is empty (no header line)")
        missing = [c for c in required if c not in header]
        if missing:
            raise source.fail(f": line 1: missing column {', '.join(missing)} (columns: {', '.join(header)})")
        for row in reader:
            # DictReader files extra fields under None and fills missing ones with None: a
            # comma that should have been quoted, or a short row, would shift the columns.
            if None in row or (any(value is None for value in row.values()) and any(row.values())):
                fields = len(header) + len(row.get(None) or []) - sum(value is None for value in row.values())
                raise source.fail(
                    f": line {numbers[-1]}: {fields} fields, the header has {len(header)} "
                    "(quote a field that holds a comma)"
                )
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


class _Fields(dict):
    """A row for a document template: a missing or null field reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def check_template(template: str) -> None:
    """A document template names the row's fields: ``{title} {text}``."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        template.format_map(_Fields())
    except (ValueError, IndexError, KeyError, AttributeError) as exc:
        raise CorpusError(f"--document-template {template!r} is not a valid template ({exc})") from None
    if not names or any(not name.isidentifier() for name in names):
        raise CorpusError(f"--document-template {template!r}: name the fields, as in {BEIR_TEMPLATE!r}")


def fill_template(template: str, row: dict) -> str:
    """The document text of a row: the template with its fields, stripped."""
    fields = _Fields({k: "" if v is None else str(v) for k, v in row.items() if isinstance(k, str)})
    return template.format_map(fields).strip()


def columns_rows(
    source: Source,
    text_column: str,
    id_column: str | None,
    group_column: str | None,
    template: str | None = None,
) -> Iterator[tuple[int, str, object, str | None]]:
    """(line, text, own id or None, group or None) for every row, empty texts included.

    A table with ``_id`` and no ``id`` column (BEIR's corpus.jsonl and queries.jsonl) is
    read by its ``_id``; a BEIR corpus row (``_id`` with ``title``) is read as ``template``
    (default ``{title} {text}``) fills it. ``template`` given applies to every table row."""
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
            if id_column == "id" and "id" not in row and BEIR_ID in row:
                id_column = BEIR_ID
            if template is None and id_column == BEIR_ID and "title" in row:
                template = BEIR_TEMPLATE
            if template is None and text_column not in row:
                raise source.fail(
                    f": no column {text_column!r} (columns: {', '.join(map(str, row))}); choose one with --text-column"
                )
            for name, option in ((id_column, "--id-column"), (group_column, "--group-column")):
                if name and name not in row and name not in {"id", "group"}:
                    raise source.fail(f": no column {name!r} given by {option}")
            checked = True
        elif template is None and text_column not in row:  # an error, as a ragged CSV row is
            raise source.fail(f": line {number}: no {text_column!r} key (keys: {', '.join(map(str, row))})")
        text = fill_template(template, row) if template is not None else row.get(text_column)
        own_id = row.get(id_column) if id_column else None
        group = row.get(group_column) if group_column else None
        yield (
            number,
            "" if text is None else str(text).strip(),
            None if own_id in (None, "") else own_id,
            None if group in (None, "") else str(group),
        )

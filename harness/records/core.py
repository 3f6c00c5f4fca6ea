"""The records that cross module boundaries, and the persisted collection contract.

Everything here is plain data with no I/O and no heavy imports, so every layer can use
it. What is persisted in a collection (:class:`CollectionMeta`) carries a schema version
and reads the metadata of collections written before the version existed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from harness.errors import HarnessError
from harness.records.index import DEFAULT_INDEX as DEFAULT_INDEX
from harness.records.index import INDEX_TYPES as INDEX_TYPES
from harness.records.index import Fusion as Fusion
from harness.records.index import IndexPlan as IndexPlan
from harness.records.index import IndexSpec as IndexSpec
from harness.records.index import IndexType as IndexType
from harness.records.index import SearchParams as SearchParams
from harness.records.index import index_type as index_type
from harness.records.index import search_setting as search_setting

INT64_MAX = 2**63 - 1


# --- ids ----------------------------------------------------------------------------------


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


# --- rows, probes, hits -------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    id: int
    text: str
    group: str
    doc_id: str = ""  # the corpus's own id as written ("" for a row whose id is its text's hash)


@dataclass(frozen=True)
class Probe:
    id: str
    text: str


@dataclass(frozen=True)
class Hit:
    id: int
    distance: float
    text: str
    group: str
    doc_id: str = ""  # the corpus's own id as written; collections older than schema 3 give str(id)

    @property
    def key(self) -> str:
        """The id a reader knows the row by: the corpus's own, else the int64 one."""
        return self.doc_id or str(self.id)


@dataclass(frozen=True)
class Progress:
    """One step of a long task: ``total`` is None while it is unknown."""

    stage: str
    done: int
    total: int | None = None
    unit: str = ""  # what is counted ("rows"), for a progress line in a log


ProgressFn = Callable[[Progress], None]


# --- baselines -------------------------------------------------------------------------------

# Baselines (keyword search, a hashing encoder) are named "baseline:KIND": a colon cannot be
# in a Milvus collection name, so a baseline's rows can never be mistaken for a collection's.
BASELINE_PREFIX = "baseline:"


def baseline_name(kind: str) -> str:
    return f"{BASELINE_PREFIX}{kind}"


def is_baseline(name: object) -> bool:
    return str(name).startswith(BASELINE_PREFIX)


# A collection's full-text retrievers are named "COLLECTION:bm25" (Milvus's own BM25) and
# "COLLECTION:hybrid" (dense and BM25 fused): as with baselines, the colon keeps them apart
# from any collection name.
FULL_TEXT_KINDS = ("milvus-bm25", "hybrid")
_FULL_TEXT_SUFFIX = {"milvus-bm25": "bm25", "hybrid": "hybrid"}


def full_text_name(collection: str, kind: str) -> str:
    return f"{collection}:{_FULL_TEXT_SUFFIX[kind]}"


def full_text_parts(name: object) -> tuple[str, str] | None:
    """(collection, kind) of a full-text retriever's name; None for any other name."""
    text = str(name)
    if is_baseline(text) or ":" not in text:
        return None
    collection, _, suffix = text.rpartition(":")
    kinds = {v: k for k, v in _FULL_TEXT_SUFFIX.items()}
    return (collection, kinds[suffix]) if suffix in kinds else None


# --- the collection contract -------------------------------------------------------------------


def _known(cls, data: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


_MODEL_CORE = ("alias", "spec", "source", "fingerprint", "dimension", "parameters", "max_seq_length")
_BLANK = ("variant", "base_fingerprint")  # "" there is the default, not a value


@dataclass(frozen=True)
class ModelRecord:
    """What a collection (or a manifest) records about the model that made its vectors."""

    alias: str
    spec: str = ""
    source: str = ""
    fingerprint: str = ""
    dimension: int | None = None
    parameters: int | None = None
    max_seq_length: int | None = None
    # Optional, added with model variants and prompts; absent (None or "") in older metadata.
    variant: str = ""  # canonical variant label ("onnx-qint8,dim=256"); "" for the model itself
    base_fingerprint: str = ""  # a variant's base model's weights fingerprint
    query_prompt: str | None = None  # prompt text put before probes
    document_prompt: str | None = None  # prompt text put before corpus lines
    similarity_fn_name: str | None = None  # the model's own similarity: cosine, dot, euclidean, manhattan
    normalized: bool | None = None  # vectors are stored unit length (so L2 ranks as cosine)
    size_bytes: int | None = None  # the model's (or variant artefact's) size on disk

    def to_dict(self) -> dict:
        """Every field, except the optional ones left unset: older metadata reads back unchanged.
        An empty prompt is kept: it means "no prompt", where an absent one means "not recorded"."""
        data = asdict(self)
        return {k: v for k, v in data.items() if k in _MODEL_CORE or not (v is None or (v == "" and k in _BLANK))}

    @classmethod
    def from_dict(cls, data: dict | None) -> "ModelRecord":
        data = dict(data or {})
        data.setdefault("alias", "?")
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class CorpusRecord:
    path: str = ""
    sha256: str = ""
    records: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "CorpusRecord":
        return cls(**_known(cls, dict(data or {})))


@dataclass(frozen=True)
class Truncation:
    """Documents longer than a model's maximum sequence length (tokens counted by its own
    tokenizer, special tokens and document prompt included), which the model reads only up
    to that length. ``cut`` sums, over the truncated documents, the share of each one's
    tokens that is cut off; :attr:`mean_cut_share` is its mean."""

    documents: int = 0
    truncated: int = 0
    cut: float = 0.0

    @classmethod
    def of(cls, documents: int, lengths: list[int], limit: int) -> "Truncation":
        """From the token counts of the documents that may be longer than ``limit``."""
        over = [n for n in lengths if n > limit]
        return cls(documents, len(over), float(sum((n - limit) / n for n in over)))

    def __add__(self, other: "Truncation") -> "Truncation":
        return Truncation(self.documents + other.documents, self.truncated + other.truncated, self.cut + other.cut)

    @property
    def share(self) -> float:
        """The share of the documents that are truncated."""
        return self.truncated / self.documents if self.documents else 0.0

    @property
    def mean_cut_share(self) -> float:
        """The mean share of tokens cut off, over the truncated documents (0 when none is)."""
        return self.cut / self.truncated if self.truncated else 0.0

    def to_dict(self) -> dict:
        return {
            "documents": self.documents,
            "truncated": self.truncated,
            "truncated_share": round(self.share, 6),
            "mean_cut_share": round(self.mean_cut_share, 6),
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> "Truncation | None":
        if not isinstance(data, dict):
            return None
        truncated = int(data.get("truncated") or 0)
        return cls(int(data.get("documents") or 0), truncated, float(data.get("mean_cut_share") or 0.0) * truncated)


SCHEMA_VERSION = 4
DOC_ID_MAX = 1024  # bytes of a corpus's own id kept in the collection's ``doc_id`` field


@dataclass(frozen=True)
class CollectionMeta:
    """The harness's metadata on a collection: the only link between an ingest and a
    later query or evaluate, possibly by a newer harness.

    Version history: 0 (no ``schema_version`` key) had the same fields except
    ``prefix``; 1 adds ``schema_version`` and ``prefix``; 2 adds the index's build
    parameters (``index.params``) and the name of its search parameter
    (``index.search_param``), for index types other than IVF_FLAT; 3 comes with the
    collection's ``doc_id`` field (the corpus's own id as written, so hits show a
    dataset's string ids; collections without it read their int64 ids as before) and
    adds ``truncation`` (how many documents the model read only in part; absent: not
    measured); 4 adds ``full_text`` (the collection has a full-text side: its text field
    analysed, a BM25 function into the ``sparse`` field and that field's index; absent in
    older metadata: it has none).
    """

    model: ModelRecord
    corpus: CorpusRecord = field(default_factory=CorpusRecord)
    index: IndexSpec = field(default_factory=IndexSpec)
    complete: bool = False
    updated: str = ""
    harness_version: str = ""
    prefix: str | None = None
    truncation: Truncation | None = None
    full_text: bool = False
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        data = {
            "schema_version": self.schema_version,
            "harness_version": self.harness_version,
            "model": self.model.to_dict(),
            "corpus": self.corpus.to_dict(),
            "index": self.index.to_dict(),
            "complete": self.complete,
            "updated": self.updated,
            "prefix": self.prefix,
            "full_text": self.full_text,
        }
        if self.truncation is not None:
            data["truncation"] = self.truncation.to_dict()
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CollectionMeta":
        version = int(data.get("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise HarnessError(
                f"collection metadata has schema version {version}, newer than this harness reads ({SCHEMA_VERSION}): "
                "upgrade harness"
            )
        return cls(
            model=ModelRecord.from_dict(data.get("model")),
            corpus=CorpusRecord.from_dict(data.get("corpus")),
            index=IndexSpec.from_dict(data.get("index")),
            complete=bool(data.get("complete", False)),
            updated=str(data.get("updated") or ""),
            harness_version=str(data.get("harness_version") or ""),
            prefix=data.get("prefix"),
            truncation=Truncation.from_dict(data.get("truncation")),
            full_text=bool(data.get("full_text", False)),
            schema_version=SCHEMA_VERSION,
        )

    @classmethod
    def from_json(cls, raw: str | None) -> "CollectionMeta | None":
        """The metadata in a collection property, None when absent or unreadable."""
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            return None
        return cls.from_dict(data) if isinstance(data, dict) else None

    def summary(self) -> dict:
        """What a run manifest records about a collection."""
        summary = {
            "model": self.model.to_dict(),
            "corpus": self.corpus.to_dict(),
            "index": self.index.to_dict(),
            "harness_version": self.harness_version,
            "complete": self.complete,
            "full_text": self.full_text,
        }
        if self.truncation is not None:
            summary["truncation"] = self.truncation.to_dict()
        return summary


# --- collections the harness did not build --------------------------------------------------


@dataclass(frozen=True)
class FieldNames:
    """The fields a collection keeps its rows in; harness collections use the defaults."""

    id: str = "id"
    text: str = "text"
    vector: str = "vector"
    group: str | None = "group"


@dataclass(frozen=True)
class ExternalCollection:
    """A collection the harness did not build, described by a sidecar file: which fields hold
    the ids, texts and vectors, and which model made the vectors. The harness reads it and
    never alters it."""

    collection: str
    model: str  # the spec of the model that made its vectors
    fields: FieldNames = field(default_factory=FieldNames)
    alias: str = ""
    fingerprint: str = ""  # the model's weights fingerprint, when known
    sidecar: str = ""  # the file it was read from, for messages

    def model_record(self, dimension: int | None) -> ModelRecord:
        alias = self.alias or Path(self.model.rstrip("/\\")).name or self.model
        return ModelRecord(alias=alias, spec=self.model, fingerprint=self.fingerprint, dimension=dimension)

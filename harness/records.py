"""The records that cross module boundaries, and the persisted collection contract.

Everything here is plain data with no I/O and no heavy imports, so every layer can use
it. What is persisted in a collection (:class:`CollectionMeta`) carries a schema version
and reads the metadata of collections written before the version existed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable

from harness.errors import HarnessError

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


@dataclass(frozen=True)
class Progress:
    """One step of a long task: ``total`` is None while it is unknown."""

    stage: str
    done: int
    total: int | None = None


ProgressFn = Callable[[Progress], None]


# --- index and search settings ------------------------------------------------------------------


@dataclass(frozen=True)
class IndexSpec:
    """The vector index a collection is built with."""

    type: str = "IVF_FLAT"
    metric: str = "L2"
    nlist: int | None = None

    def index_params(self) -> dict:
        """Parameters for pymilvus ``add_index``: Lite reads nlist only from the nested
        ``params``, servers from the flat one, so both are sent."""
        if self.nlist is None:
            return {}
        return {"nlist": int(self.nlist), "params": {"nlist": int(self.nlist)}}

    def to_dict(self) -> dict:
        return {"type": self.type, "metric": self.metric, "nlist": self.nlist}

    @classmethod
    def from_dict(cls, data: dict | None) -> "IndexSpec":
        data = data or {}
        nlist = data.get("nlist")
        return cls(str(data.get("type") or "IVF_FLAT"), str(data.get("metric") or "L2"), int(nlist) if nlist else None)


@dataclass(frozen=True)
class SearchParams:
    """How many hits, and how many IVF lists to search (None: the server's default)."""

    top_k: int = 10
    nprobe: int | None = None
    metric: str = "L2"

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise HarnessError("--top-k must be at least 1")
        if self.nprobe is not None and self.nprobe < 1:
            raise HarnessError("--nprobe must be at least 1")

    def search_params(self) -> dict:
        params: dict = {"metric_type": self.metric, "params": {}}
        if self.nprobe:
            params["params"]["nprobe"] = int(self.nprobe)
        return params

    def with_top_k(self, top_k: int) -> "SearchParams":
        return replace(self, top_k=top_k)

    def with_nprobe(self, nprobe: int | None) -> "SearchParams":
        return replace(self, nprobe=nprobe)


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


SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CollectionMeta:
    """The harness's metadata on a collection: the only link between an ingest and a
    later query or evaluate, possibly by a newer harness.

    Version history: 0 (no ``schema_version`` key) had the same fields except
    ``prefix``; 1 adds ``schema_version`` and ``prefix``.
    """

    model: ModelRecord
    corpus: CorpusRecord = field(default_factory=CorpusRecord)
    index: IndexSpec = field(default_factory=IndexSpec)
    complete: bool = False
    updated: str = ""
    harness_version: str = ""
    prefix: str | None = None
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        return {
            "schema_version": self.schema_version,
            "harness_version": self.harness_version,
            "model": self.model.to_dict(),
            "corpus": self.corpus.to_dict(),
            "index": self.index.to_dict(),
            "complete": self.complete,
            "updated": self.updated,
            "prefix": self.prefix,
        }

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
        return {
            "model": self.model.to_dict(),
            "corpus": self.corpus.to_dict(),
            "index": self.index.to_dict(),
            "harness_version": self.harness_version,
            "complete": self.complete,
        }

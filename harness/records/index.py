"""Index and search settings: which Milvus index a collection is built with, and how
wide a search is. Plain data, as the rest of :mod:`harness.records`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from harness.errors import HarnessError


@dataclass(frozen=True)
class IndexType:
    """What the harness knows of a Milvus index type: the search parameter that trades recall
    for speed (None: the search is exhaustive), whether it takes ``nlist``, and the build
    parameters it is given besides nlist."""

    name: str
    search_param: str | None
    lists: bool
    defaults: tuple[tuple[str, Any], ...] = ()


# Build defaults are Milvus's documented defaults, sent explicitly so they are recorded.
INDEX_TYPES: dict[str, IndexType] = {
    t.name: t
    for t in (
        IndexType("FLAT", None, False),
        IndexType("IVF_FLAT", "nprobe", True),
        IndexType("IVF_SQ8", "nprobe", True),
        IndexType("IVF_PQ", "nprobe", True, (("nbits", 8),)),  # m is chosen from the dimension
        IndexType("HNSW", "ef", False, (("M", 16), ("efConstruction", 200))),
        IndexType("HNSW_SQ", "ef", False, (("M", 16), ("efConstruction", 200), ("sq_type", "SQ8"))),
    )
}
DEFAULT_INDEX = "IVF_FLAT"


def index_type(name: str) -> IndexType:
    """The index type called ``name`` (any case); an unknown name is one error line."""
    found = INDEX_TYPES.get(str(name).upper())
    if found is None:
        raise HarnessError(f"unknown index type {name!r}; known: {', '.join(INDEX_TYPES)}")
    return found


@dataclass(frozen=True)
class IndexPlan:
    """The index a collection is to be built with, as the user asked: its type and, for IVF
    types, nlist (None: chosen from the rows when the collection is built, see
    :func:`harness.store.base.default_nlist`); ``full_text``: also a full-text side (the
    text field analysed, a BM25 function into a sparse field with its own index)."""

    type: str = DEFAULT_INDEX
    nlist: int | None = None
    full_text: bool = False

    def __post_init__(self) -> None:
        known = index_type(self.type)
        object.__setattr__(self, "type", known.name)
        if self.nlist is not None and self.nlist < 1:
            raise HarnessError("--nlist must be at least 1")
        if self.nlist is not None and not known.lists:
            raise HarnessError(f"--nlist applies to IVF index types, not {known.name}")


@dataclass(frozen=True)
class Fusion:
    """How a hybrid search fuses the dense and the full-text hits: reciprocal rank fusion
    with ``k`` (Milvus's RRFRanker), or a weighted sum of the two scores (WeightedRanker)
    when ``weights`` (dense, full text) are given."""

    k: int = 60
    weights: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.k < 1:
            raise HarnessError("--rrf-k must be at least 1")
        if self.weights is not None:
            if len(self.weights) != 2 or any(not 0 <= w <= 1 for w in self.weights):
                raise HarnessError("--hybrid-weights takes two weights between 0 and 1, dense first: 0.7,0.3")
            object.__setattr__(self, "weights", (float(self.weights[0]), float(self.weights[1])))

    @classmethod
    def parse(cls, k: int | None = None, weights: str | None = None) -> "Fusion":
        """From the options: ``--rrf-k`` and ``--hybrid-weights 0.7,0.3``."""
        if not weights:
            return cls(60 if k is None else int(k))
        try:
            values = tuple(float(w) for w in str(weights).split(","))
        except ValueError:
            raise HarnessError(f"--hybrid-weights takes two numbers, dense first (0.7,0.3), not {weights!r}") from None
        if len(values) != 2:
            raise HarnessError(f"--hybrid-weights takes two numbers, dense first (0.7,0.3), not {weights!r}")
        return cls(60 if k is None else int(k), (values[0], values[1]))

    def describe(self) -> str:
        """``RRF k=60``, ``weighted 0.7/0.3``."""
        if self.weights is None:
            return f"RRF k={self.k}"
        return f"weighted {self.weights[0]:g}/{self.weights[1]:g}"

    def short(self) -> str:
        return "RRF" if self.weights is None else f"weighted {self.weights[0]:g}/{self.weights[1]:g}"


def _param_value(value: Any) -> Any:
    """A build parameter as Milvus echoes it back (servers send strings): numbers as int."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True)
class IndexSpec:
    """The vector index a collection is built with: its type, metric, ``nlist`` (IVF types)
    and the type's other build parameters (``params``: M, efConstruction, m, sq_type, ...)."""

    type: str = DEFAULT_INDEX
    metric: str = "L2"
    nlist: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def search_param(self) -> str | None:
        """The search parameter of this type: ``nprobe`` (IVF), ``ef`` (HNSW), None (FLAT)."""
        known = INDEX_TYPES.get(self.type.upper())
        return known.search_param if known else None

    def build_params(self) -> dict:
        """Every build parameter, nlist included."""
        params = {k: _param_value(v) for k, v in self.params.items()}
        if self.nlist is not None:
            params["nlist"] = int(self.nlist)
        return params

    def index_params(self) -> dict:
        """Parameters for pymilvus ``add_index``: Lite reads them only from the nested
        ``params``, servers from the flat ones, so both are sent."""
        params = self.build_params()
        return {**params, "params": dict(params)} if params else {}

    def describe(self) -> str:
        """One short line: ``IVF_FLAT nlist=22``, ``HNSW M=16 efConstruction=200``."""
        return " ".join([self.type, *(f"{k}={v}" for k, v in sorted(self.build_params().items()))])

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "metric": self.metric,
            "nlist": self.nlist,
            "params": {k: _param_value(v) for k, v in self.params.items()},
            "search_param": self.search_param,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> "IndexSpec":
        """Versions 0 and 1 wrote type, metric and nlist only; 2 adds params and search_param
        (derived from the type, so it is not read back)."""
        data = data or {}
        nlist = data.get("nlist")
        found = data.get("params")
        params: dict = found if isinstance(found, dict) else {}
        return cls(
            str(data.get("type") or DEFAULT_INDEX),
            str(data.get("metric") or "L2"),
            int(nlist) if nlist else None,
            {str(k): _param_value(v) for k, v in params.items() if k != "nlist"},
        )


def search_setting(index: IndexSpec, nprobe: int | None, ef: int | None) -> str:
    """The search setting used on ``index`` in words: ``nprobe=8``, ``ef=default``, ``exhaustive``."""
    param = index.search_param
    if param is None:
        return "exhaustive"
    value = {"nprobe": nprobe, "ef": ef}[param]
    return f"{param}={value if value else 'default'}"


@dataclass(frozen=True)
class SearchParams:
    """How many hits, and how wide the index search is: ``nprobe`` IVF lists, or HNSW's
    ``ef`` (None: the server's default)."""

    top_k: int = 10
    nprobe: int | None = None
    metric: str = "L2"
    ef: int | None = None

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise HarnessError("--top-k must be at least 1")
        if self.nprobe is not None and self.nprobe < 1:
            raise HarnessError("--nprobe must be at least 1")
        if self.ef is not None and self.ef < self.top_k:
            # Milvus refuses ef below k; FAISS would quietly return worse results.
            raise HarnessError(f"--ef must be at least --top-k ({self.top_k})")

    def search_params(self) -> dict:
        params: dict = {"metric_type": self.metric, "params": {}}
        if self.nprobe:
            params["params"]["nprobe"] = int(self.nprobe)
        if self.ef:
            params["params"]["ef"] = int(self.ef)
        return params

    def for_index(self, index: IndexSpec) -> "SearchParams":
        """These settings for one index: only its own search parameter is kept."""
        param = index.search_param
        return replace(self, nprobe=self.nprobe if param == "nprobe" else None, ef=self.ef if param == "ef" else None)

    def setting(self, index: IndexSpec) -> str:
        return search_setting(index, self.nprobe, self.ef)

    def with_top_k(self, top_k: int) -> "SearchParams":
        return replace(self, top_k=top_k)

    def with_nprobe(self, nprobe: int | None) -> "SearchParams":
        return replace(self, nprobe=nprobe)

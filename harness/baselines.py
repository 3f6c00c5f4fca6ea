"""Baselines every model is compared with, computed over the corpus a collection holds.

- ``bm25``: keyword search, BM25 as the ``bm25s`` library scores it, by default in the
  reference setting of the BEIR regressions of Anserini (Lucene BM25, k1 = 0.9, b = 0.4,
  Porter stemming, Lucene's English stop words; lowercased words of two or more letters).
  ``[baselines.bm25]`` in the experiment file (:func:`configure_bm25`) chooses another
  (bm25s's own defaults, the setting before: ``stemmer = "none"``, ``k1 = 1.5``,
  ``b = 0.75``). A text with no word in common with a line does not retrieve it, so a BM25
  list can be shorter than k.
- ``hashing``: the :class:`~harness.models.hashing.HashingEmbedder` (signed feature hashing of
  words, 256 dimensions) with exact L2 search in memory: a model that knows no language.

Both are named ``baseline:KIND`` wherever they appear (see :func:`harness.records.baseline_name`).
Their hits carry a ``distance`` where smaller is nearer: squared L2 for hashing, and the
negated BM25 score for bm25.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Iterator, Sequence

import numpy as np

from harness.errors import HarnessError
from harness.metrics.retrieval import exact_knn_search
from harness.models import Embedder, HashingEmbedder
from harness.records import Hit, baseline_name
from harness.store import VectorStore

BASELINES = ("bm25", "hashing")
BM25_METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")
BM25_STOPWORDS = ("en", "none")  # en: Lucene's 33 English stop words, as Lucene's EnglishAnalyzer removes


@dataclass(frozen=True)
class Bm25Settings:
    """How the BM25 baseline tokenises and scores. The default is Anserini's BEIR setting
    (Lucene BM25, k1 0.9, b 0.4, Porter stemming, English stop words); PyStemmer's
    ``porter`` is the original Porter algorithm, the one Lucene's PorterStemFilter runs
    (``english`` is Snowball's Porter2)."""

    method: str = "lucene"
    k1: float = 0.9
    b: float = 0.4
    stemmer: str = "porter"  # a PyStemmer algorithm, or "none"
    stopwords: str = "en"  # en, or none
    token_pattern: str = r"(?u)\b\w\w+\b"  # lowercased words of two or more letters

    def definition(self) -> str:
        stemming = "no stemming" if self.stemmer == "none" else f"{self.stemmer} stemming (PyStemmer)"
        stop = "English stop words removed" if self.stopwords == "en" else "no stop words removed"
        reference = ", Anserini's BEIR setting" if self == Bm25Settings() else ""
        return (
            f"BM25 keyword search by bm25s (method {self.method}, k1 {self.k1:g}, b {self.b:g}, lowercased words of 2+ "
            f"letters, {stop}, {stemming}{reference}); distance = -score; lines sharing no word are not retrieved"
        )

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "Bm25Settings":
        """Settings from ``[baselines.bm25]`` (keys already checked by the experiment file)."""
        known = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in (values or {}).items() if k in known})


# bm25s's own defaults, the harness's setting before the reference one: no stemming, k1 1.5, b 0.75.
BM25S_DEFAULTS = Bm25Settings(k1=1.5, b=0.75, stemmer="none")
BM25_SETTINGS = asdict(Bm25Settings())  # the setting in force (see configure_bm25)
DEFINITIONS = {
    "bm25": Bm25Settings().definition(),
    "hashing": "signed feature hashing of lowercased words into 256 dimensions, L2-normalised, exact L2 search",
}


def configure_bm25(settings: Bm25Settings | None = None) -> Bm25Settings:
    """Make ``settings`` (None: the default) the BM25 baseline's for this process: every
    command sets it from its experiment file's ``[baselines.bm25]``; the definition written
    to manifests follows."""
    chosen = settings or Bm25Settings()
    BM25_SETTINGS.clear()
    BM25_SETTINGS.update(asdict(chosen))
    DEFINITIONS["bm25"] = chosen.definition()
    return chosen


def bm25_settings() -> Bm25Settings:
    """The BM25 setting in force."""
    return Bm25Settings(**BM25_SETTINGS)


ROW_BATCH = 4096


def parse_baselines(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``bm25,hashing`` (or a list of names); ``none`` or empty: no baselines."""
    if value is None:
        return BASELINES
    names = [value] if isinstance(value, str) else list(value)
    kinds = [part.strip().lower() for name in names for part in name.split(",") if part.strip()]
    if kinds in ([], ["none"]):
        return ()
    unknown = [k for k in kinds if k not in BASELINES]
    if unknown:
        raise HarnessError(f"unknown baseline {unknown[0]!r}; known: {', '.join(BASELINES)} (or none)")
    return tuple(dict.fromkeys(kinds))


@dataclass
class CorpusRows:
    """The rows a collection holds: ids, texts and groups, in the store's order."""

    ids: np.ndarray
    texts: list[str]
    groups: list[str]


def read_rows(store: VectorStore, name: str) -> CorpusRows:
    """Every row's id, text and group (no vectors) of one collection."""
    ids: list[np.ndarray] = []
    texts: list[str] = []
    groups: list[str] = []
    for batch in store.rows(name, vectors=False):
        ids.append(batch.ids)
        texts.extend(batch.texts)
        groups.extend(batch.groups)
    if not ids:
        raise HarnessError(f"collection {name} is empty: no corpus for the baselines")
    return CorpusRows(np.concatenate(ids), texts, groups)


def _stemmer(name: str):
    if name == "none":
        return None
    try:
        import Stemmer
    except ImportError:
        raise HarnessError("BM25 stemming needs PyStemmer: pip install PyStemmer") from None
    if name not in Stemmer.algorithms():
        raise HarnessError(f"unknown BM25 stemmer {name!r}; PyStemmer knows: {', '.join(Stemmer.algorithms())}, none")
    return Stemmer.Stemmer(name)


class KeywordIndex:
    """BM25 over a list of texts (positions 0..n-1), scored by bm25s, with ``settings``
    (default: the setting in force, see :func:`configure_bm25`)."""

    def __init__(self, texts: Sequence[str], settings: Bm25Settings | None = None):
        import bm25s

        self.settings = settings or bm25_settings()
        if self.settings.method not in BM25_METHODS:
            raise HarnessError(f"unknown BM25 method {self.settings.method!r}; known: {', '.join(BM25_METHODS)}")
        self.stemmer = _stemmer(self.settings.stemmer)
        self.size = len(texts)
        self.retriever = bm25s.BM25(method=self.settings.method, k1=self.settings.k1, b=self.settings.b)
        self.retriever.index(self._tokens(texts), show_progress=False)

    def _tokens(self, texts: Sequence[str]) -> list[list[str]]:
        import bm25s

        return bm25s.tokenize(
            list(texts),
            lower=True,
            token_pattern=self.settings.token_pattern,
            stopwords=[] if self.settings.stopwords == "none" else self.settings.stopwords,
            stemmer=self.stemmer,
            return_ids=False,
            show_progress=False,
        )

    def scores(self, text: str) -> np.ndarray:
        """The BM25 score of every text for one query."""
        return np.asarray(self.retriever.get_scores(self._tokens([text])[0]), dtype=np.float64)

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        """Each query's up to k best (position, score), best first; lines with score 0 share
        no word with the query and are left out."""
        if not queries:
            return []
        k = min(k, self.size)
        positions, scores = self.retriever.retrieve(self._tokens(queries), k=k, show_progress=False, n_threads=1)
        return [
            [(int(p), float(s)) for p, s in zip(row_p, row_s) if s > 0]
            for row_p, row_s in zip(positions.tolist(), scores.tolist())
        ]


class Baseline:
    """One baseline over the rows of a corpus: search by text, or from a stored row."""

    def __init__(self, kind: str, rows: CorpusRows, batch_size: int = 256, bm25: Bm25Settings | None = None):
        if kind not in BASELINES:
            raise HarnessError(f"unknown baseline {kind!r}; known: {', '.join(BASELINES)}")
        self.kind = kind
        self.name = baseline_name(kind)
        self.rows = rows
        self.batch_size = batch_size
        self.position = {int(i): p for p, i in enumerate(rows.ids.tolist())}
        self.embedder: Embedder | None = None
        self.keywords: KeywordIndex | None = None
        self.matrix: np.ndarray | None = None
        if kind == "bm25":
            self.keywords = KeywordIndex(rows.texts, bm25)
        else:
            self.embedder = HashingEmbedder()
            self.matrix = self.embedder.encode(rows.texts, batch_size)

    @property
    def has_vectors(self) -> bool:
        return self.matrix is not None

    def _hit(self, position: int, distance: float) -> Hit:
        return Hit(int(self.rows.ids[position]), distance, self.rows.texts[position], self.rows.groups[position])

    def stream(self, batch_size: int = ROW_BATCH) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        assert self.matrix is not None
        for start in range(0, len(self.matrix), batch_size):
            yield self.rows.ids[start : start + batch_size], self.matrix[start : start + batch_size]

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        if self.matrix is None:
            raise HarnessError(f"{self.name} has no vectors")
        return self.matrix[[self.position[int(i)] for i in ids]]

    def search_vectors(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """Exact L2 search of the hashing vectors."""
        found, distances = exact_knn_search(vectors, self.stream(), k)
        return [
            [self._hit(self.position[int(i)], float(d)) for i, d in zip(row_i, row_d)]
            for row_i, row_d in zip(found.tolist(), distances.tolist())
        ]

    def search_texts(self, texts: Sequence[str], k: int) -> list[list[Hit]]:
        if self.keywords is not None:
            return [[self._hit(p, -score) for p, score in hits] for hits in self.keywords.search(texts, k)]
        assert self.embedder is not None
        return self.search_vectors(self.embedder.encode(list(texts), self.batch_size, role="query"), k)

    def search_rows(self, ids: Sequence[int] | np.ndarray, k: int) -> list[list[Hit]]:
        """Neighbours of stored rows (each row itself usually first)."""
        if self.keywords is not None:
            return self.search_texts([self.rows.texts[self.position[int(i)]] for i in ids], k)
        return self.search_vectors(self.vectors(ids), k)

    def describe(self) -> dict:
        definition = self.keywords.settings.definition() if self.keywords is not None else DEFINITIONS[self.kind]
        return {"kind": self.kind, "rows": len(self.rows.ids), "definition": definition}


def build_baselines(rows: CorpusRows, kinds: Sequence[str], bm25: Bm25Settings | None = None) -> list[Baseline]:
    return [Baseline(kind, rows, bm25=bm25) for kind in kinds]

"""The model comparison study: cost, quality, index fidelity and space alignment.

Pure metric functions (numpy) plus :func:`evaluate`, which runs them over the harness's
Milvus collections and returns a :class:`Study` of DataFrames. Nothing here prints.
torch and sentence-transformers are imported only when a model is loaded.
"""

from __future__ import annotations

import csv
import json
import math
import os
import resource
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from harness.errors import HarnessError

# Called as progress(stage, done, total).
Progress = Callable[[str, int, int], None]

MUTUAL_KNN_MIN = 0.2
CKA_MIN = 0.5


class EvaluationError(HarnessError):
    pass


# --- pure metrics ------------------------------------------------------------------------


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of a with the same row of b."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.einsum("ij,ij->i", a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, dots / np.where(norms > 0, norms, 1), 0.0)


def contrast(scores: Sequence[float], labels: Sequence[int]) -> dict:
    """Mean score of similar pairs (label 1) minus mean score of dissimilar pairs (label 0)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    similar, dissimilar = scores[labels == 1], scores[labels == 0]
    mean_s = float(similar.mean()) if len(similar) else float("nan")
    mean_d = float(dissimilar.mean()) if len(dissimilar) else float("nan")
    return {
        "n_similar": int(len(similar)),
        "n_dissimilar": int(len(dissimilar)),
        "mean_similar": mean_s,
        "mean_dissimilar": mean_d,
        "contrast": mean_s - mean_d,
    }


def correlations(predicted: Sequence[float], gold: Sequence[float]) -> dict:
    """Spearman and Pearson correlation, x100 (STS convention)."""
    from scipy.stats import pearsonr, spearmanr

    predicted = np.asarray(predicted, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.float64)
    if len(gold) < 2 or np.ptp(gold) == 0 or np.ptp(predicted) == 0:
        return {"n": int(len(gold)), "spearman": float("nan"), "pearson": float("nan")}
    return {
        "n": int(len(gold)),
        "spearman": float(spearmanr(predicted, gold).statistic) * 100,
        "pearson": float(pearsonr(predicted, gold).statistic) * 100,
    }


def recall_at_k(retrieved: Sequence, relevant: dict, k: int) -> float:
    """Share of the relevant items (relevance > 0) found in the top k."""
    wanted = {item for item, rel in relevant.items() if rel > 0}
    if not wanted:
        return float("nan")
    return len(wanted & set(list(retrieved)[:k])) / len(wanted)


def ndcg_at_k(retrieved: Sequence, relevant: dict, k: int = 10) -> float:
    """nDCG@k with linear gain (the relevance) and log2(rank + 1) discount."""
    gains = [float(relevant.get(item, 0)) for item in list(retrieved)[:k]]
    dcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))
    ideal = sorted((float(r) for r in relevant.values() if r > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else float("nan")


def reciprocal_rank(retrieved: Sequence, relevant: dict) -> float:
    for rank, item in enumerate(retrieved, start=1):
        if relevant.get(item, 0) > 0:
            return 1.0 / rank
    return 0.0


def exact_knn(queries: np.ndarray, vectors: np.ndarray, k: int, chunk: int = 512) -> np.ndarray:
    """Indices (into vectors) of each query's k nearest rows by L2, nearest first."""
    queries = np.asarray(queries, dtype=np.float32)
    vectors = np.asarray(vectors, dtype=np.float32)
    k = min(k, len(vectors))
    squared = (vectors.astype(np.float64) ** 2).sum(axis=1)
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        q = queries[start : start + chunk].astype(np.float64)
        distances = (q**2).sum(axis=1)[:, None] - 2 * q @ vectors.T.astype(np.float64) + squared[None, :]
        part = np.argpartition(distances, k - 1, axis=1)[:, :k] if k < len(vectors) else np.tile(np.arange(len(vectors)), (len(q), 1))
        order = np.take_along_axis(distances, part, axis=1).argsort(axis=1, kind="stable")
        out[start : start + chunk] = np.take_along_axis(part, order, axis=1)
    return out


def _knn_self(vectors: np.ndarray, k: int) -> np.ndarray:
    """Each row's k nearest other rows by cosine (self excluded)."""
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1)
    similarity = x @ x.T
    np.fill_diagonal(similarity, -np.inf)
    k = min(k, len(x) - 1)
    part = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    return part


def mutual_knn(vectors_a: np.ndarray, vectors_b: np.ndarray, k: int = 10) -> float:
    """Mean share of each row's k nearest neighbours (cosine) that both spaces agree on."""
    if len(vectors_a) != len(vectors_b):
        raise EvaluationError("mutual kNN needs the same rows embedded by both models")
    if len(vectors_a) < 2:
        return float("nan")
    na, nb = _knn_self(vectors_a, k), _knn_self(vectors_b, k)
    kk = na.shape[1]
    return float(np.mean([len(set(ra) & set(rb)) / kk for ra, rb in zip(na.tolist(), nb.tolist())]))


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019): 1 for identical or rotated spaces."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) != len(y):
        raise EvaluationError("CKA needs the same rows embedded by both models")
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    cross = np.linalg.norm(y.T @ x, "fro") ** 2
    denominator = np.linalg.norm(x.T @ x, "fro") * np.linalg.norm(y.T @ y, "fro")
    return float(cross / denominator) if denominator > 0 else float("nan")


def space_alignment(vectors_a: np.ndarray, vectors_b: np.ndarray, k: int = 10) -> dict:
    """How far two embeddings of the same rows agree: mutual kNN (cosine) and linear CKA."""
    return {"mutual_knn": mutual_knn(vectors_a, vectors_b, k), "cka": linear_cka(vectors_a, vectors_b)}


def same_text_cosine(vectors_a: np.ndarray, vectors_b: np.ndarray) -> float:
    """Mean cosine between two models' vectors of the same rows (NaN when dimensions differ).

    Unlike CKA and mutual kNN, this sees whether the two spaces share coordinates, which is
    what querying one model's collection with the other model's vectors needs.
    """
    if vectors_a.shape != vectors_b.shape or not len(vectors_a):
        return float("nan")
    return float(np.mean(cosine_rows(vectors_a, vectors_b)))


def alignment_warning(alignment: dict) -> str | None:
    """A plain-words warning when two spaces are not aligned, else None."""
    knn, cka = alignment.get("mutual_knn"), alignment.get("cka")
    low_knn = knn is not None and not math.isnan(knn) and knn < MUTUAL_KNN_MIN
    low_cka = cka is not None and not math.isnan(cka) and cka < CKA_MIN
    if not (low_knn or low_cka):
        return None
    return (
        f"the two models' embedding spaces are not aligned (mutual kNN {knn:.2f}, CKA {cka:.2f}): "
        "searching one model's collection with the other model's vectors gives results close to chance"
    )


def group_coherence(query_groups: Sequence[str], neighbour_groups: Sequence[Sequence[str]]) -> float:
    """Mean share of each query's neighbours that are in the query's own group."""
    shares = [sum(g == q for g in n) / len(n) for q, n in zip(query_groups, neighbour_groups) if len(n)]
    return float(np.mean(shares)) if shares else float("nan")


def group_affinity(query_groups: Sequence[str], neighbour_groups: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Long table: for queries in group X, the share of their neighbours in group Y (rows sum to 1)."""
    counts: dict[tuple[str, str], int] = {}
    totals: dict[str, int] = {}
    for q, neighbours in zip(query_groups, neighbour_groups):
        for g in neighbours:
            counts[(q, g)] = counts.get((q, g), 0) + 1
            totals[q] = totals.get(q, 0) + 1
    rows = [{"query_group": q, "neighbour_group": g, "share": c / totals[q]} for (q, g), c in counts.items()]
    return pd.DataFrame(rows, columns=["query_group", "neighbour_group", "share"])


def nprobe_sweep(nlist: int | None) -> list[int]:
    """1, 2, 4, ... up to nlist, with nlist itself last."""
    top = nlist or 64
    values, n = [], 1
    while n < top:
        values.append(n)
        n *= 2
    values.append(top)
    return values


def first_reaching(fidelity: pd.DataFrame, threshold: float) -> int | None:
    reached = fidelity[fidelity["recall_at_k"] >= threshold - 1e-12].sort_values("nprobe")
    return int(reached["nprobe"].iloc[0]) if len(reached) else None


# --- input files ---------------------------------------------------------------------------


def _csv_records(path: Path, what: str, required: Sequence[str]) -> Iterable[tuple[int, dict]]:
    if not path.is_file():
        raise EvaluationError(f"{what} file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EvaluationError(f"{what} file {path}: not valid UTF-8 ({exc.reason})") from None
    lines = text.splitlines()
    reader = csv.DictReader(lines)
    if reader.fieldnames is None:
        raise EvaluationError(f"{what} file {path}: empty (no header line)")
    missing = [c for c in required if c not in reader.fieldnames]
    if missing:
        raise EvaluationError(
            f"{what} file {path}: line 1: missing column {', '.join(missing)} (columns: {', '.join(reader.fieldnames)})"
        )
    try:
        for row in reader:
            number = reader.line_num
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            yield number, row
    except csv.Error as exc:
        raise EvaluationError(f"{what} file {path}: line {reader.line_num}: {exc}") from None


def _number(value: str | None, path: Path, what: str, number: int, column: str) -> float:
    try:
        parsed = float((value or "").strip())
    except ValueError:
        parsed = float("nan")
    if not math.isfinite(parsed):
        raise EvaluationError(f"{what} file {path}: line {number}: unparseable {column} {value!r}")
    return parsed


def read_pairs(path: str | Path, kind: str = "auto") -> pd.DataFrame:
    """Sentence pairs: sentence1,sentence2,label (1/0) or sentence1,sentence2,score (any range).

    Returns columns sentence1, sentence2, gold, line and ``attrs["kind"]`` = "label" or "score".
    """
    path = Path(path)
    what = "pairs" if kind != "score" else "graded pairs"
    if kind == "auto":
        header = next(iter(_csv_records(path, what, ["sentence1", "sentence2"])), None)
        columns = header[1].keys() if header else []
        kind = "label" if "label" in columns else "score"
    column = "label" if kind == "label" else "score"
    rows = []
    for number, row in _csv_records(path, what, ["sentence1", "sentence2", column]):
        s1, s2 = (row.get("sentence1") or "").strip(), (row.get("sentence2") or "").strip()
        if not s1 or not s2:
            raise EvaluationError(f"{what} file {path}: line {number}: empty sentence1 or sentence2")
        gold = _number(row.get(column), path, what, number, column)
        if kind == "label" and gold not in (0.0, 1.0):
            raise EvaluationError(f"{what} file {path}: line {number}: label must be 1 or 0, not {row.get(column)!r}")
        rows.append({"sentence1": s1, "sentence2": s2, "gold": gold, "line": number})
    if not rows:
        raise EvaluationError(f"{what} file {path} has no pairs")
    frame = pd.DataFrame(rows)
    frame.attrs["kind"] = kind
    return frame


def read_qrels(path: str | Path, probe_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """probe_id, corpus_id (mapped with record_id), relevance, line. Unknown probe ids fail."""
    from harness.corpus import record_id

    path = Path(path)
    known = set(probe_ids) if probe_ids is not None else None
    rows = []
    for number, row in _csv_records(path, "qrels", ["probe_id", "corpus_id", "relevance"]):
        probe = (row.get("probe_id") or "").strip()
        corpus = (row.get("corpus_id") or "").strip()
        if not probe or not corpus:
            raise EvaluationError(f"qrels file {path}: line {number}: empty probe_id or corpus_id")
        if known is not None and probe not in known:
            raise EvaluationError(f"qrels file {path}: line {number}: unknown probe id {probe!r} (not in the probe file)")
        relevance = _number(row.get("relevance"), path, "qrels", number, "relevance")
        rows.append({"probe_id": probe, "corpus_id": record_id(corpus), "relevance": relevance, "line": number})
    if not rows:
        raise EvaluationError(f"qrels file {path} has no judgements")
    return pd.DataFrame(rows)


def check_qrels_ids(qrels: pd.DataFrame, corpus_ids: Iterable[int], path: str | Path, collection: str) -> None:
    known = set(int(i) for i in corpus_ids)
    for row in qrels.itertuples(index=False):
        if int(row.corpus_id) not in known:
            raise EvaluationError(
                f"qrels file {path}: line {row.line}: unknown corpus id {row.corpus_id} (not in collection {collection})"
            )


# --- cost ----------------------------------------------------------------------------------


class _PeakMemory:
    """Peak resident memory above the starting point while the block runs (MB).

    On CUDA: torch's peak allocated GPU memory. On CPU: RSS sampled every 20 ms (Linux; finer sampling slows encoding measurably),
    else the process's peak RSS growth.
    """

    def __init__(self, device: str):
        self.device = device
        self.peak_mb = float("nan")
        self.kind = "gpu" if device.startswith("cuda") else "rss"

    @staticmethod
    def _rss() -> int | None:
        try:
            with open("/proc/self/statm") as handle:
                return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return None

    def __enter__(self):
        if self.kind == "gpu":
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
            return self
        self._base = self._rss()
        self._max = self._base or 0
        self._maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self._stop = threading.Event()
        if self._base is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            rss = self._rss()
            if rss and rss > self._max:
                self._max = rss

    def __exit__(self, *exc) -> None:
        if self.kind == "gpu":
            import torch

            torch.cuda.synchronize()
            self.peak_mb = (torch.cuda.max_memory_allocated() - self._base) / 1e6
            return
        self._stop.set()
        if self._base is not None:
            self._thread.join()
            self._max = max(self._max, self._rss() or 0)
            self.peak_mb = max(0, self._max - self._base) / 1e6
        else:
            self.peak_mb = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self._maxrss) / 1e6


def measure_cost(ref, texts: Sequence[str], corpus_rows: int, device: str = "auto", repeats: int = 3, batch_size: int = 64):
    """(cost row, loaded Embedder): load time and encode throughput are medians over repeats."""
    from harness.models import folder_size, load_model

    repeats = max(1, repeats)
    load_times = []
    embedder = None
    for _ in range(repeats):
        embedder = load_model(ref, device=device)
        load_times.append(embedder.load_seconds)
    texts = list(texts)
    embedder.encode(texts[: max(1, batch_size)], batch_size)  # warm-up, untimed
    encode_times = []
    peak = float("nan")
    for i in range(repeats):
        meter = _PeakMemory(embedder.device)
        with meter:
            started = time.perf_counter()
            embedder.encode(texts, batch_size)
            encode_times.append(time.perf_counter() - started)
        peak = meter.peak_mb if i == 0 or math.isnan(peak) else max(peak, meter.peak_mb)
    encode_s = statistics.median(encode_times)
    throughput = len(texts) / encode_s if encode_s > 0 else float("nan")
    load_s = statistics.median(load_times)
    corpus_encode_s = corpus_rows / throughput if throughput and throughput == throughput else float("nan")
    row = {
        "model": embedder.alias,
        "dimension": embedder.dimension,
        "parameters": embedder.parameters,
        "size_mb": round(folder_size(ref.path) / 1e6, 2) if ref.path else float("nan"),
        "load_s": load_s,
        "encode_sentences": len(texts),
        "sentences_per_s": throughput,
        "corpus_encode_s": corpus_encode_s,
        "total_s": load_s + corpus_encode_s,
        "peak_memory_mb": peak,
        "memory_kind": "gpu" if embedder.device.startswith("cuda") else "rss",
        "device": embedder.device,
        "repeats": repeats,
    }
    return row, embedder


# --- the study ----------------------------------------------------------------------------

TABLES = (
    "cost",
    "contrast",
    "pair_scores",
    "graded",
    "retrieval",
    "coherence",
    "affinity",
    "fidelity",
    "fidelity_summary",
    "alignment",
)


@dataclass
class Study:
    cost: pd.DataFrame
    contrast: pd.DataFrame
    pair_scores: pd.DataFrame
    graded: pd.DataFrame
    retrieval: pd.DataFrame
    coherence: pd.DataFrame
    affinity: pd.DataFrame
    fidelity: pd.DataFrame
    fidelity_summary: pd.DataFrame
    alignment: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}

    def write(self, directory: str | Path, query_dir: str | Path | None = None, html: str | Path | None = None) -> list[Path]:
        """Tables (CSV, JSON, Parquet), plots and study.json; optionally the HTML report."""
        from harness.report import write_study

        return write_study(self, directory, query_dir=query_dir, html=html)


def empty_study(manifest: dict | None = None) -> Study:
    return Study(**{name: pd.DataFrame() for name in TABLES}, manifest=manifest or {})


def _search_ids(store, name: str, vectors: np.ndarray, k: int, nprobe: int | None, batch: int = 256) -> list[list[int]]:
    out: list[list[int]] = []
    for start in range(0, len(vectors), batch):
        out.extend([h.id for h in hits] for hits in store.search(name, vectors[start : start + batch], k, nprobe))
    return out


def _sample(n: int, size: int, seed: int = 0) -> np.ndarray:
    if size <= 0 or n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def evaluate(
    uri: str | None = None,
    token: str | None = None,
    collections: Sequence[str] | None = None,
    *,
    corpus: str | Path | None = None,
    pairs: str | Path | None = None,
    graded: str | Path | None = None,
    qrels: str | Path | None = None,
    probes: str | Path | None = None,
    top_k: int = 10,
    nprobe: int | None = None,
    nprobe_values: Sequence[int] | None = None,
    repeats: int = 3,
    device: str = "auto",
    batch_size: int = 64,
    cost_sample: int = 1000,
    coherence_sample: int = 1000,
    fidelity_sample: int = 200,
    alignment_sample: int = 1000,
    seed: int = 0,
    progress: Progress | None = None,
) -> Study:
    """Run the comparison study over the harness collections in one Milvus."""
    from harness.corpus import CorpusReader, load_probes
    from harness.querying import _model_for_collection, _package_versions, check_search_options
    from harness.store import connect, redact_uri

    check_search_options(top_k, nprobe)
    if repeats < 1:
        raise EvaluationError("--repeats must be at least 1")
    pair_frame = read_pairs(pairs, "label") if pairs else None
    graded_frame = read_pairs(graded, "score") if graded else None
    probe_list = load_probes(probes) if probes else None
    if qrels and probe_list is None:
        raise EvaluationError("--qrels needs the probe file its probe ids refer to: pass --probes FILE")
    qrels_frame = read_qrels(qrels, [p.id for p in probe_list]) if qrels else None
    corpus_texts = [r.text for r in CorpusReader(corpus)] if corpus else None

    cost_rows, contrast_rows, graded_rows, retrieval_rows = [], [], [], []
    coherence_rows, fidelity_rows, summary_rows, alignment_rows = [], [], [], []
    affinity_frames = []
    pair_columns: dict[str, np.ndarray] = {}
    graded_columns: dict[str, np.ndarray] = {}
    warnings: list[str] = []
    fetched: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    store = connect(uri, token)
    # pymilvus warns on every query_iterator against Lite (no server mvcc timestamp).
    import logging

    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
    try:
        names = list(collections) if collections else store.harness_collections()
        if not names:
            raise EvaluationError(f"no harness collections in {redact_uri(store.uri)}: run harness ingest first")
        metas = {name: store.require_collection(name) for name in names}
        total = len(names) * 4 + len(names) * (len(names) - 1) // 2
        done = 0

        def step(stage: str) -> None:
            nonlocal done
            done += 1
            if progress:
                progress(stage, done, total)

        for name in names:
            meta = metas[name]
            store.ensure_loaded(name)
            info = store.describe(name)
            ids, vectors, texts, groups = store.fetch_vectors(name)
            if len(ids) == 0:
                raise EvaluationError(f"collection {name} is empty")
            fetched[name] = (ids, vectors)
            ref = _model_for_collection(meta)
            # cost
            sample_texts = corpus_texts if corpus_texts is not None else texts
            chosen = _sample(len(sample_texts), cost_sample, seed)
            row, embedder = measure_cost(
                ref, [sample_texts[i] for i in chosen], len(sample_texts), device, repeats, batch_size
            )
            cost_rows.append({"collection": name, **row})
            step(f"cost {name}")
            # quality: pairs, graded pairs, qrels
            if pair_frame is not None:
                cos = cosine_rows(embedder.encode(list(pair_frame["sentence1"]), batch_size), embedder.encode(list(pair_frame["sentence2"]), batch_size))
                pair_columns[name] = cos
                contrast_rows.append({"collection": name, "model": embedder.alias, **contrast(cos, pair_frame["gold"].astype(int))})
            if graded_frame is not None:
                cos = cosine_rows(embedder.encode(list(graded_frame["sentence1"]), batch_size), embedder.encode(list(graded_frame["sentence2"]), batch_size))
                graded_columns[name] = cos
                graded_rows.append({"collection": name, "model": embedder.alias, **correlations(cos, graded_frame["gold"])})
            if qrels_frame is not None:
                check_qrels_ids(qrels_frame, ids, qrels, name)
                judged = {pid: dict(zip(g["corpus_id"].astype(int), g["relevance"])) for pid, g in qrels_frame.groupby("probe_id")}
                judged_probes = [p for p in probe_list if p.id in judged]
                probe_vectors = embedder.encode([p.text for p in judged_probes], batch_size)
                depth = max(top_k, 10)
                results = _search_ids(store, name, probe_vectors, depth, nprobe)
                per = [
                    (recall_at_k(r, judged[p.id], top_k), ndcg_at_k(r, judged[p.id], 10), reciprocal_rank(r, judged[p.id]))
                    for p, r in zip(judged_probes, results)
                ]
                recall, ndcg, mrr = (float(np.nanmean(col)) for col in zip(*per))
                retrieval_rows.append(
                    {"collection": name, "model": embedder.alias, "probes": len(judged_probes), "k": top_k,
                     "recall_at_k": recall, "ndcg_at_10": ndcg, "mrr": mrr, "nprobe": nprobe}
                )
            del embedder
            step(f"quality {name}")
            # index fidelity
            k = min(top_k, len(ids))
            queries = _sample(len(ids), fidelity_sample, seed)
            exact = ids[exact_knn(vectors[queries], vectors, k)]
            sweep = sorted(set(nprobe_values or nprobe_sweep(info.nlist)) | ({nprobe} if nprobe else set()))
            rows = []
            for n in sweep:
                approx = _search_ids(store, name, vectors[queries], k, n)
                recall = float(np.mean([len(set(a) & set(e.tolist())) / k for a, e in zip(approx, exact)]))
                rows.append({"collection": name, "nlist": info.nlist, "nprobe": n, "k": k, "queries": len(queries), "recall_at_k": recall})
            fidelity_rows.extend(rows)
            frame = pd.DataFrame(rows)
            summary_rows.append(
                {"collection": name, "nlist": info.nlist, "k": k,
                 "recall_at_nprobe": float(frame.loc[frame["nprobe"] == nprobe, "recall_at_k"].iloc[0]) if nprobe else float("nan"),
                 "nprobe": nprobe, "nprobe_for_0_95": first_reaching(frame, 0.95), "nprobe_for_0_99": first_reaching(frame, 0.99)}
            )
            step(f"fidelity {name}")
            # group coherence
            distinct = {g for g in groups if g}
            if len(distinct) > 1 and len(ids) > 1:
                group_of = dict(zip(ids.tolist(), groups))
                queries = [i for i in _sample(len(ids), coherence_sample, seed) if groups[i]]
                k = min(top_k, len(ids) - 1)
                results = _search_ids(store, name, vectors[queries], k + 1, nprobe)
                own = [int(ids[i]) for i in queries]
                neighbours = [[group_of[h] for h in r if h != me][:k] for r, me in zip(results, own)]
                query_groups = [groups[i] for i in queries]
                sizes = pd.Series(groups).value_counts()
                chance = float(np.mean([(sizes[g] - 1) / (len(ids) - 1) for g in query_groups]))
                coherence_rows.append(
                    {"collection": name, "model": meta.get("model", {}).get("alias", "?"), "queries": len(queries), "k": k,
                     "groups": len(distinct), "coherence": group_coherence(query_groups, neighbours), "chance": chance}
                )
                affinity = group_affinity(query_groups, neighbours)
                affinity.insert(0, "collection", name)
                affinity_frames.append(affinity)
            step(f"coherence {name}")
        # space alignment between every two collections, on the rows both hold
        for a, b in combinations(names, 2):
            ids_a, va = fetched[a]
            ids_b, vb = fetched[b]
            common, ia, ib = np.intersect1d(ids_a, ids_b, return_indices=True)
            chosen = _sample(len(common), alignment_sample, seed)
            if len(chosen) >= 3:
                result = space_alignment(va[ia[chosen]], vb[ib[chosen]], k=min(top_k, len(chosen) - 1))
                result["same_text_cosine"] = same_text_cosine(va[ia[chosen]], vb[ib[chosen]])
            else:
                result = {"mutual_knn": float("nan"), "cka": float("nan"), "same_text_cosine": float("nan")}
            warning = alignment_warning(result)
            alignment_rows.append({"collection_a": a, "collection_b": b, "rows": len(chosen), **result, "warning": warning or ""})
            step(f"alignment {a} {b}")
        if store.is_lite:
            warnings.append("timings of Milvus Lite searches are not Milvus server timings; index recall figures hold")
        manifest = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": _package_versions(),
            "uri": redact_uri(store.uri),
            "backend": "milvus-lite" if store.is_lite else "milvus-server",
            "collections": {n: {"model": metas[n].get("model", {}), "corpus": metas[n].get("corpus", {}), "index": metas[n].get("index", {})} for n in names},
            "inputs": {k: str(v) if v else None for k, v in
                       {"corpus": corpus, "pairs": pairs, "graded": graded, "qrels": qrels, "probes": probes}.items()},
            "parameters": {"top_k": top_k, "nprobe": nprobe, "repeats": repeats, "device": device, "batch_size": batch_size,
                           "cost_sample": cost_sample, "coherence_sample": coherence_sample,
                           "fidelity_sample": fidelity_sample, "alignment_sample": alignment_sample, "seed": seed},
            "definitions": {
                "contrast": "mean cosine of similar pairs minus mean cosine of dissimilar pairs",
                "graded": "Spearman and Pearson correlation (x100) between cosine similarity and gold score",
                "retrieval": "recall@k = relevant found in top k / relevant; nDCG@10 with linear gain; MRR over the top max(k,10)",
                "coherence": "share of a line's top-k neighbours (itself excluded) from its own group; chance = expected share at random",
                "fidelity": "recall@k of IVF_FLAT search against exact L2 search over the same vectors",
                "alignment": "mutual kNN (cosine) and linear CKA on rows both collections hold",
            },
            "notes": warnings,
        }
    finally:
        store.close()

    pair_scores = pd.DataFrame()
    parts = []
    for frame, source, columns in ((pair_frame, "pairs", pair_columns), (graded_frame, "graded", graded_columns)):
        if frame is not None:
            part = frame[["sentence1", "sentence2", "gold"]].copy()
            part.insert(0, "source", source)
            for name, cos in columns.items():
                part[name] = cos
            parts.append(part)
    if parts:
        pair_scores = pd.concat(parts, ignore_index=True)
    return Study(
        cost=pd.DataFrame(cost_rows),
        contrast=pd.DataFrame(contrast_rows),
        pair_scores=pair_scores,
        graded=pd.DataFrame(graded_rows),
        retrieval=pd.DataFrame(retrieval_rows),
        coherence=pd.DataFrame(coherence_rows),
        affinity=pd.concat(affinity_frames, ignore_index=True) if affinity_frames else pd.DataFrame(),
        fidelity=pd.DataFrame(fidelity_rows),
        fidelity_summary=pd.DataFrame(summary_rows),
        alignment=pd.DataFrame(alignment_rows),
        manifest=manifest,
        warnings=warnings,
    )


def load_study(directory: str | Path) -> Study:
    """Read a study written by Study.write (its CSV tables and study.json)."""
    directory = Path(directory)
    manifest_path = directory / "study.json"
    if not manifest_path.is_file():
        raise EvaluationError(f"{directory} holds no study (no study.json): run harness evaluate --output {directory}")
    manifest = json.loads(manifest_path.read_text())
    tables = {}
    for name in TABLES:
        path = directory / f"{name}.csv"
        try:
            tables[name] = pd.read_csv(path) if path.is_file() and path.stat().st_size > 1 else pd.DataFrame()
        except pd.errors.EmptyDataError:
            tables[name] = pd.DataFrame()
    return Study(**tables, manifest=manifest.get("manifest", manifest), warnings=manifest.get("warnings", []))

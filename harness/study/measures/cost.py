"""Cost of each model: size, load time, encode throughput, peak memory (medians over repeats)."""

from __future__ import annotations

import ctypes
import gc
import math
import os
import resource
import statistics
import threading
import time

import pandas as pd

from harness.models import folder_size
from harness.study.base import Column, Frames, Measure, Plot, StudyInputs, Table, sample_positions
from harness.study.context import Context


class PeakMemory:
    """Peak resident memory above the starting point while the block runs (MB).

    On CUDA: torch's peak allocated GPU memory. On CPU: RSS sampled every 20 ms (Linux;
    finer sampling slows encoding measurably), else the process's peak RSS growth. Freed heap
    is handed back to the OS first: without that, an encode that fits in memory freed earlier
    (by the warm-up, or a model measured before) grows nothing and read 0 MB. No growth seen
    is NaN: it cannot be told from memory reused.
    """

    def __init__(self, device: str):
        self.device = device
        self.peak_mb = float("nan")
        self.kind = "gpu" if device.startswith("cuda") else "rss"
        self._base: int | None = None

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
        gc.collect()
        _trim_heap()
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
            self.peak_mb = (torch.cuda.max_memory_allocated() - (self._base or 0)) / 1e6
            return
        self._stop.set()
        if self._base is not None:
            self._thread.join()
            self._max = max(self._max, self._rss() or 0)
            growth = self._max - self._base
        else:
            growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self._maxrss
        self.peak_mb = growth / 1e6 if growth > 0 else float("nan")


def _trim_heap() -> None:
    """Return the heap's free memory to the OS (glibc's malloc_trim; elsewhere nothing)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _size_mb(size_bytes: int | None, ctx: Context) -> float:
    """What the model (or a variant's exported or distilled artefact) takes on disk."""
    if size_bytes is not None:
        return round(size_bytes / 1e6, 2)
    ref = getattr(ctx, "ref", None)
    if ref is None:
        return float("nan")
    if ref.builtin:
        return 0.0  # computed, no files
    return round(folder_size(ref.path) / 1e6, 2) if ref.path else float("nan")


def _truncated_share(ctx: Context) -> float:
    truncation = getattr(getattr(ctx, "meta", None), "truncation", None)
    return truncation.share if truncation is not None else float("nan")


class Cost(Measure):
    on_models = True
    name = "cost"
    tables = (
        Table(
            "cost",
            "Per-model cost",
            "Cost (times are medians; memory is the peak while encoding)",
            section="Cost",
            link="cost table",
            columns={
                "dimension": Column("Dimension", "int"),
                "parameters": Column("Parameters (M)", "millions"),
                "size_mb": Column("Size (MB)", "float1", "low"),
                "vector_bytes": Column("Vector bytes per row", "int", "low"),
                "load_s": Column("Load (s)", "float2", "low"),
                "sentences_per_s": Column("Encode (sentences/s)", "int", "high"),
                "corpus_encode_s": Column("Corpus encode (s)", "float1", "low"),
                "total_s": Column("Load + corpus encode (s)", "float1", "low"),
                "peak_memory_mb": Column("Peak memory (MB)", "float0", "low"),
                "truncated_share": Column("Documents truncated", "float2", "low"),
            },
        ),
    )
    plots = (
        Plot(
            "quality_cost",
            "Quality vs encode cost, with the Pareto front (baselines grey, hatched; BM25 runs no model)",
            "Quality",
        ),
        Plot("efficiency", "Efficiency: size vs encode time", "Cost"),
    )
    on_baselines = frozenset({"hashing"})
    definition = (
        "size on disk, model load time and encode throughput (batched, after an untimed warm-up) are medians over "
        "--repeats; corpus encode time is extrapolated from the throughput; memory is the peak while encoding; "
        "truncated_share = share of the collection's documents longer than the model's max sequence length "
        "(measured at ingest by its tokenizer)"
    )

    def run(self, ctx: Context, inputs: StudyInputs) -> Frames:
        settings = ctx.settings
        repeats = max(1, settings.repeats)
        if inputs.corpus_texts is not None:
            corpus_rows = len(inputs.corpus_texts)
            texts = [inputs.corpus_texts[i] for i in sample_positions(corpus_rows, settings.cost_sample, settings.seed)]
        else:
            corpus_rows = len(ctx.ids)
            texts = ctx.texts(ctx.ids[ctx.sample(settings.cost_sample)])
        load_times = []
        for _ in range(repeats - 1):
            again = ctx.load_again()
            load_times.append(again.load_seconds)
            again.close()
        embedder = ctx.embedder  # the last of the timed loads; the other measures use it
        load_times.append(embedder.load_seconds)
        embedder.encode(texts[: max(1, settings.batch_size)], settings.batch_size)  # warm-up, untimed
        encode_times = []
        peak = float("nan")
        for i in range(repeats):
            meter = PeakMemory(embedder.device)
            with meter:
                started = time.perf_counter()
                embedder.encode(texts, settings.batch_size)
                encode_times.append(time.perf_counter() - started)
            peak = meter.peak_mb if i == 0 or math.isnan(peak) else max(peak, meter.peak_mb)
        encode_s = statistics.median(encode_times)
        throughput = len(texts) / encode_s if encode_s > 0 else float("nan")
        load_s = statistics.median(load_times)
        corpus_encode_s = corpus_rows / throughput if throughput and throughput == throughput else float("nan")
        row = {
            "collection": ctx.name,
            "model": embedder.alias,
            "dimension": embedder.dimension,
            "parameters": embedder.parameters,
            "size_mb": _size_mb(embedder.describe().size_bytes, ctx),
            "load_s": load_s,
            "encode_sentences": len(texts),
            "sentences_per_s": throughput,
            "corpus_encode_s": corpus_encode_s,
            "total_s": load_s + corpus_encode_s,
            "peak_memory_mb": peak,
            "memory_kind": "gpu" if embedder.device.startswith("cuda") else "rss",
            "device": embedder.device,
            "repeats": repeats,
            # the share of the corpus longer than the model's max sequence length, as measured at ingest
            "truncated_share": _truncated_share(ctx),
        }
        return {"cost": pd.DataFrame([row])}

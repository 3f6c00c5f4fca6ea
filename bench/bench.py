#!/usr/bin/env python
"""Benchmark the harness against the raw libraries it wraps.

Prints, for one synthetic corpus and one model:
  (a) raw SentenceTransformer.encode, batched
  (b) the per-sentence loop {s: model.encode(s) for s in sentences} (on a subsample, scaled)
  (c) harness.ingest, first run (cold embedding cache, fresh database)
  (d) re-ingest into the same database (nothing added) and into a fresh one with a warm cache
  (e) raw MilvusClient.search per probe vs harness Store.search per probe (same collection)
  (f) peak RSS of an ingest at two corpus sizes, each in a fresh subprocess, with Milvus
      Lite in-process (the default) and with Lite as a separate server process
  (g) model variants: ingest with MODEL@onnx vs raw torch encode, and one table of every
      variant's throughput, memory, size and quality loss against its base
      (bench/variants_bench.py)
  (h) the whole comparison job (two models, the Blake corpus, its 15 probes scored against
      its relevance judgements): `harness compare` against bench/raw_job.py, the same job
      written directly with sentence-transformers, numpy and pymilvus; each a fresh
      subprocess (imports count), fresh database and cold embedding cache, run alternately
and the ratios against the targets. This is a script, not a test; times are noisy.

    python bench/bench.py                       # --lines 10000, RSS at 100k and 1M lines
    python bench/bench.py --smoke               # tiny, about a minute (CI)
    python bench/bench.py --skip-rss --lines 10000   # (a)-(e), the variants (g) and the compare job (h)
    python bench/bench.py --only-compare        # (h) alone, with the packaged models
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Milvus Lite's in-process gRPC server logs a traceback when pymilvus calls AllocTimestamp,
# which Lite does not implement; the client handles the failure and the results stand.
logging.getLogger("grpc._server").setLevel(logging.CRITICAL)

STATIC = "static-random"
TARGETS = {
    "ingest_vs_raw_encode": ("<=", 1.1),
    "loop_vs_ingest_speedup": (">=", 10.0),
    "reingest_speedup": (">=", 50.0),
    "query_vs_raw_search": ("<=", 1.1),
    "rss_growth": ("<=", 1.5),
    "onnx_ingest_speedup": (">=", 1.5),
    "onnx_min_cosine": (">=", 0.9999),
    "compare_vs_raw_job": ("<=", 1.0),
}


def log(*parts) -> None:
    print(*parts, flush=True)


# --- models ---------------------------------------------------------------------------------


def build_static_model(folder: Path, dim: int = 256, seed: int = 0) -> Path:
    """A model2vec-style StaticEmbedding with RANDOM weights: it measures cost, not quality.

    Vocabulary: the BERT WordPiece tokenizer of the packaged all-MiniLM-L6-v2 when installed,
    else a word-level tokenizer over the synthetic generator's words.
    """
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    from harness.models import PACKAGED_MODELS, packaged_folder

    if (folder / "modules.json").exists():
        return folder
    base = packaged_folder(PACKAGED_MODELS[0])
    if base is not None and (base / "tokenizer.json").exists():
        tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
        tokenizer.no_truncation()
    else:
        from synthetic import synthetic_lines

        words = sorted({w.strip(",.!?").lower() for line in synthetic_lines(20000) for w in line.split()})
        tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", *words])}, unk_token="[UNK]"))
        tokenizer.normalizer = normalizers.Lowercase()
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    weights = np.random.default_rng(seed).standard_normal((tokenizer.get_vocab_size(), dim)).astype(np.float16)
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu")
    model.save(str(folder))
    return folder


def model_spec(name: str, work: Path) -> str:
    return str(build_static_model(work / "static-random")) if name == STATIC else name


# --- timing helpers ---------------------------------------------------------------------------


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - started, value


def ratio_line(name: str, value: float) -> str:
    op, target = TARGETS[name]
    ok = value <= target if op == "<=" else value >= target
    return f"{name:<24} {value:10.2f}   target {op} {target:<5}  {'MET' if ok else 'MISSED'}"


# --- (a)-(e) ----------------------------------------------------------------------------------


def bench_core(args, work: Path, figures: dict) -> None:

    import harness
    from harness.inputs import CorpusReader
    from harness.models import load_model
    from harness.store import Store, collection_name

    from synthetic import write_synthetic_corpus

    corpus = work / "corpus.txt"
    write_synthetic_corpus(corpus, args.lines, seed=1)
    texts = [r.text for r in CorpusReader(corpus)]
    spec = model_spec(args.model, work)
    embedder = load_model(spec, device="cpu")
    model = embedder.model
    log(f"model {args.model}: {embedder.dimension}-d, {embedder.parameters:,} parameters; corpus {len(texts)} lines")
    model.encode(texts[:64], batch_size=args.batch_size)  # warm-up

    # (a) raw batched encode
    raw_s, _ = timed(model.encode, texts, batch_size=args.batch_size, show_progress_bar=False, convert_to_numpy=True)
    figures["raw_encode_s"] = raw_s
    log(f"(a) raw_encode_s          {raw_s:9.2f} s   ({len(texts) / raw_s:,.0f} sentences/s, batch {args.batch_size})")

    # (b) the per-sentence loop, on a subsample, scaled to the full corpus
    sample = texts[: min(len(texts), args.loop_sample)]
    loop_sample_s, _ = timed(lambda: {s: model.encode(s) for s in sample})
    loop_s = loop_sample_s * len(texts) / len(sample)
    figures["loop_encode_s"] = loop_s
    figures["loop_sample"] = len(sample)
    scaled = (
        ""
        if len(sample) == len(texts)
        else f", measured on {len(sample)} sentences and scaled x{len(texts) / len(sample):.1f}"
    )
    log(f"(b) loop_encode_s         {loop_s:9.2f} s   ({len(texts) / loop_s:,.0f} sentences/s{scaled})")

    # (c) first ingest: cold cache, fresh db
    cache_dir = work / "cache"
    db = work / "first.db"
    ingest_s, report = timed(harness.ingest, corpus, [spec], uri=str(db), batch_size=args.batch_size, cache=cache_dir)
    row = report.models[0]
    figures["ingest_s"] = ingest_s
    figures["ingest_load_s"] = row.load_s
    figures["ingest_no_load_s"] = ingest_s - row.load_s
    figures["ingest_parts"] = {"encode_s": row.encode_s, "insert_s": row.insert_s, "index_s": row.index_s}
    log(
        f"(c) ingest_s              {ingest_s:9.2f} s   (model load {row.load_s:.2f} s; without it "
        f"{ingest_s - row.load_s:.2f} s; encode {row.encode_s:.2f}, insert {row.insert_s:.2f} in a worker "
        f"thread, index {row.index_s:.2f}; {row.rows_added} rows)"
    )

    # (d) re-ingest: same db (idempotent), then a fresh db with the warm cache
    reingest_s, report = timed(harness.ingest, corpus, [spec], uri=str(db), batch_size=args.batch_size, cache=cache_dir)
    figures["reingest_same_db_s"] = reingest_s
    figures["reingest_same_db_no_load_s"] = reingest_s - report.models[0].load_s
    log(
        f"(d) reingest_same_db_s    {reingest_s:9.2f} s   (rows added {report.models[0].rows_added}; "
        f"model load {report.models[0].load_s:.2f} s)"
    )
    warm_s, report = timed(
        harness.ingest, corpus, [spec], uri=str(work / "warm.db"), batch_size=args.batch_size, cache=cache_dir
    )
    figures["reingest_warm_cache_s"] = warm_s
    log(
        f"(d) reingest_warm_cache_s {warm_s:9.2f} s   (fresh db; cache hits {report.models[0].cache_hits}, "
        f"encode {report.models[0].encode_s:.2f} s, insert {report.models[0].insert_s:.2f}, "
        f"index {report.models[0].index_s:.2f})"
    )

    # (e) raw search vs harness search, same process, same collection, same params
    name = collection_name(report.models[0].model)
    probes = embedder.encode(texts[:: max(1, len(texts) // args.probes)][: args.probes])
    params = {"metric_type": "L2", "params": {"nprobe": args.nprobe}}
    with Store(str(db)) as store:
        store.ensure_loaded(name)
        client = store.client

        def raw(vector):
            return client.search(
                name,
                data=[vector],
                limit=args.top_k,
                output_fields=["text", "group"],
                search_params=params,
                anns_field="vector",
            )

        def ours(vector):
            return store.search(name, vector[None, :], args.top_k, nprobe=args.nprobe)

        for vector in probes[:5]:
            raw(vector), ours(vector)  # warm-up
        raw_t, ours_t = [], []
        for _ in range(args.search_repeats):
            for vector in probes:
                started = time.perf_counter()
                raw(vector)
                raw_t.append(time.perf_counter() - started)
                started = time.perf_counter()
                ours(vector)
                ours_t.append(time.perf_counter() - started)
        assert [h["id"] for h in raw(probes[0])[0]] == [h.id for h in ours(probes[0])[0]]
    figures["raw_search_ms"] = statistics.median(raw_t) * 1000
    figures["harness_search_ms"] = statistics.median(ours_t) * 1000
    log(
        f"(e) raw_search_ms         {figures['raw_search_ms']:9.3f} ms  "
        f"(median of {len(raw_t)}: {len(probes)} probes x "
        f"{args.search_repeats}, top {args.top_k}, nprobe {args.nprobe}, {len(texts)} rows, Milvus Lite)"
    )
    log(f"(e) harness_search_ms     {figures['harness_search_ms']:9.3f} ms  (same probes, interleaved)")


# --- (f) peak RSS -----------------------------------------------------------------------------


def rss_child(args) -> None:
    """Run in a fresh process: one ingest, then print this process's peak RSS as JSON."""
    import harness

    started = time.perf_counter()
    report = harness.ingest(
        args.rss_child_corpus,
        [args.rss_child_model],
        uri=args.rss_child_uri,
        batch_size=args.batch_size,
        cache=args.rss_child_cache,
    )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "peak_rss_mb": peak_kb / 1024,
                "seconds": time.perf_counter() - started,
                "rows": report.models[0].rows_total,
            }
        )
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _run_child(args, corpus: Path, model: str, uri: str, cache: Path) -> dict:
    command = [
        sys.executable,
        __file__,
        "--rss-child-corpus",
        str(corpus),
        "--rss-child-model",
        model,
        "--rss-child-uri",
        uri,
        "--rss-child-cache",
        str(cache),
        "--batch-size",
        str(args.batch_size),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"RSS child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _start_server(data_dir: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "milvus_lite",
            "server",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server, port
        except OSError:
            if server.poll() is not None:
                raise SystemExit("milvus-lite server exited at start") from None
            time.sleep(0.2)
    server.kill()
    raise SystemExit("milvus-lite server did not start in 60 s")


def bench_rss(args, work: Path, figures: dict) -> None:
    from synthetic import write_synthetic_corpus

    sizes = [int(s) for s in args.rss_sizes.split(",") if s.strip()]
    model = model_spec(args.rss_model, work)
    figures["rss"] = {"model": args.rss_model, "sizes": sizes, "lite_in_process": {}, "lite_server": {}}
    for size in sizes:
        corpus = work / f"rss-{size}.txt"
        started = time.perf_counter()
        write_synthetic_corpus(corpus, size, seed=2)
        log(f"(f) corpus of {size:,} lines written in {time.perf_counter() - started:.1f} s")

        child = _run_child(args, corpus, model, str(work / f"rss-{size}.db"), work / f"rss-cache-{size}")
        figures["rss"]["lite_in_process"][size] = child
        log(
            f"(f) peak_rss_mb[{size}] lite in-process     {child['peak_rss_mb']:9.0f} MB  "
            f"(ingest {child['seconds']:.1f} s, {child['rows']} rows; Milvus Lite's memory counts here)"
        )

        server, port = _start_server(work / f"rss-server-{size}")
        try:
            child = _run_child(args, corpus, model, f"http://127.0.0.1:{port}", work / f"rss-cache-server-{size}")
            child["server_peak_rss_mb"] = _hwm_mb(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        figures["rss"]["lite_server"][size] = child
        log(
            f"(f) peak_rss_mb[{size}] harness, DB elsewhere {child['peak_rss_mb']:9.0f} MB  "
            f"(ingest {child['seconds']:.1f} s; the milvus-lite server process peaked at "
            f"{child['server_peak_rss_mb'] or float('nan'):.0f} MB)"
        )
        corpus.unlink()


# --- (h) the whole comparison job -----------------------------------------------------------------


def _timed_child(command: list[str], env: dict, cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall and CPU seconds (user + system) of one child process, from outside: imports count."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[1]} failed:\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done


def bench_compare(args, work: Path, figures: dict) -> None:
    """(h) `harness compare` vs bench/raw_job.py on the same job, alternately, --compare-repeats times."""
    from harness.models import resolve_model

    corpora = REPO / "corpora"
    corpus, probes, qrels = corpora / "blake.txt", corpora / "blake.probes.csv", corpora / "blake.qrels.csv"
    if args.compare_models == STATIC:  # two random static models (different seeds): cost, not quality
        specs = [str(build_static_model(work / f"static-compare-{seed}", seed=seed)) for seed in (1, 2)]
    else:
        specs = args.compare_models.split(",")
    refs = [resolve_model(spec) for spec in specs]
    folders = [str(ref.path) for ref in refs]  # the raw job loads folders
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    figures["compare"] = runs = {"models": args.compare_models, "raw_job": [], "harness_compare": []}
    for i in range(args.compare_repeats):
        raw = [sys.executable, str(REPO / "bench" / "raw_job.py"), str(corpus), str(probes), str(qrels)]
        wall, cpu, done = _timed_child([*raw, str(work / f"raw-{i}.db"), *folders], env, work)
        scores = json.loads(done.stdout.strip().splitlines()[-1])["models"]
        runs["raw_job"].append({"wall_s": wall, "cpu_s": cpu, "scores": scores})
        log(f"(h) raw_job_s[{i}]          {wall:9.2f} s   (cpu {cpu:.1f} s)")
        command = [sys.executable, "-m", "harness.cli", "compare", "--corpus", str(corpus), "--probes", str(probes)]
        command += ["--qrels", str(qrels), "--uri", str(work / f"compare-{i}.db"), "--output", str(work / f"run-{i}")]
        command += [
            "--top-k",
            "10",
            "--nprobe",
            "8",
            "--measures",
            "retrieval",
            "--baselines",
            "none",
            "--repeats",
            "0",
        ]
        for spec in specs:
            command += ["-m", spec]
        # cwd: the work folder, so no harness.toml adds to the job; a cold embedding cache
        wall, cpu, _ = _timed_child(command, {**env, "HARNESS_CACHE_DIR": str(work / f"cache-{i}")}, work)
        runs["harness_compare"].append({"wall_s": wall, "cpu_s": cpu})
        log(f"(h) harness_compare_s[{i}]  {wall:9.2f} s   (cpu {cpu:.1f} s)")
    import pandas as pd

    retrieval = pd.read_csv(work / "run-0" / "study" / "retrieval.csv")
    runs["recall_at_10"] = recall = {}
    for ref, folder in zip(refs, folders):
        mine = retrieval[(retrieval["model"] == ref.alias) & (retrieval["metric"] == "recall_at_k")]["value"]
        recall[ref.alias] = {
            "harness_compare": float(mine.iloc[0]) if len(mine) else None,
            "raw_job": runs["raw_job"][0]["scores"][folder]["recall_at_10"],
        }
    runs["same_recall"] = all(
        r["harness_compare"] is not None and abs(r["harness_compare"] - r["raw_job"]) < 1e-9 for r in recall.values()
    )
    log(
        "(h) recall@10 (harness, raw job): "
        + "; ".join(f"{a} {r['harness_compare']}, {r['raw_job']}" for a, r in recall.items())
    )
    for name in ("raw_job", "harness_compare"):
        figures[f"{name}_s"] = statistics.median(r["wall_s"] for r in runs[name])
        figures[f"{name}_cpu_s"] = statistics.median(r["cpu_s"] for r in runs[name])
    log(
        f"(h) raw_job_s               {figures['raw_job_s']:9.2f} s   (median of {args.compare_repeats}; cpu "
        f"{figures['raw_job_cpu_s']:.1f} s)"
    )
    log(
        f"(h) harness_compare_s       {figures['harness_compare_s']:9.2f} s   (median; cpu "
        f"{figures['harness_compare_cpu_s']:.1f} s; recall@10 equal to the raw job's: {runs['same_recall']})"
    )


# --- main ---------------------------------------------------------------------------------------


def ratios(figures: dict) -> dict:
    out = {}
    if "raw_encode_s" in figures:
        out["ingest_vs_raw_encode"] = figures["ingest_no_load_s"] / figures["raw_encode_s"]
        out["loop_vs_ingest_speedup"] = figures["loop_encode_s"] / figures["ingest_no_load_s"]
        out["reingest_speedup"] = figures["ingest_s"] / figures["reingest_same_db_s"]
        out["query_vs_raw_search"] = figures["harness_search_ms"] / figures["raw_search_ms"]
    if "onnx_ingest_s" in figures:
        out["onnx_ingest_speedup"] = figures["onnx_raw_encode_s"] / figures["onnx_ingest_s"]
        out["onnx_min_cosine"] = figures["onnx_min_cosine"]
    rss = figures.get("rss")
    if rss and len(rss["sizes"]) >= 2:
        small, big = rss["sizes"][0], rss["sizes"][-1]
        for mode in ("lite_in_process", "lite_server"):
            key = "rss_growth" if mode == "lite_server" else "rss_growth_lite_in_process"
            out[key] = rss[mode][big]["peak_rss_mb"] / rss[mode][small]["peak_rss_mb"]
    if "harness_compare_s" in figures:
        out["compare_vs_raw_job"] = figures["harness_compare_s"] / figures["raw_job_s"]
    return out


def run_sections(args, work: Path, figures: dict) -> None:
    if not args.only_compare:
        if not args.skip_core:
            bench_core(args, work, figures)
        if not args.skip_variants:
            from variants_bench import bench_variants

            bench_variants(args, work, figures)
        if not args.skip_rss:
            bench_rss(args, work, figures)
    if not args.skip_compare:
        bench_compare(args, work, figures)


def print_ratios(found: dict) -> None:
    log("\nratios")
    for name, value in found.items():
        if name == "onnx_min_cosine":
            op, target = TARGETS[name]
            log(f"{name:<24} {value:10.7f}   target {op} {target:<6} {'MET' if value >= target else 'MISSED'}")
        elif name in TARGETS:
            log(ratio_line(name, value))
        else:
            log(f"{name:<24} {value:10.2f}   (for information: includes Milvus Lite's own memory)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=10000, help="corpus size for (a)-(e)")
    parser.add_argument(
        "--model", default=None, help=f"model for (a)-(e) (default all-MiniLM-L6-v2; {STATIC} = random static)"
    )
    parser.add_argument("--rss-sizes", default="100000,1000000", help="corpus sizes for the RSS runs, comma-separated")
    parser.add_argument("--rss-model", default=STATIC, help=f"model for the RSS runs (default {STATIC})")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--skip-core", action="store_true", help="skip (a)-(e)")
    parser.add_argument("--variant-model", default="all-MiniLM-L6-v2", help="base model of the variants in (g)")
    parser.add_argument("--variant-sample", type=int, default=2000, help="lines encoded by each variant in (g)")
    parser.add_argument("--variant-probes", type=int, default=100, help="probe lines for overlap@10 in (g)")
    parser.add_argument("--onnx-rounds", type=int, default=2, help="alternated raw encode / @onnx ingest rounds")
    parser.add_argument("--variant-repeats", type=int, default=3, help="timed encodes per variant (best is kept)")
    parser.add_argument("--skip-variants", action="store_true")
    parser.add_argument(
        "--compare-models",
        default="all-MiniLM-L6-v2,minilm-sre",
        help=f"the two models of (h), comma-separated ({STATIC}: two random static models)",
    )
    parser.add_argument("--compare-repeats", type=int, default=3, help="runs of each side of (h), alternately")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--only-compare", action="store_true", help="run (h) alone")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--loop-sample", type=int, default=1000, help="sentences timed in the per-sentence loop")
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--search-repeats", type=int, default=5)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--nprobe", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, random static model: a quick check that it runs"
    )
    for hidden in ("--rss-child-corpus", "--rss-child-model", "--rss-child-uri", "--rss-child-cache"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child_corpus:
        return rss_child(args)
    if args.smoke:
        args.lines, args.rss_sizes = min(args.lines, 2000), "2000,4000"
        args.loop_sample, args.probes, args.search_repeats = 100, 10, 3
        args.variant_sample, args.variant_probes, args.onnx_rounds, args.variant_repeats = 500, 20, 1, 1
        args.model = args.model or STATIC
        args.compare_models, args.compare_repeats = STATIC, 1
    args.model = args.model or "all-MiniLM-L6-v2"

    figures: dict = {"lines": args.lines, "model": args.model, "smoke": args.smoke}
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        work = Path(tmp)
        os.environ["HARNESS_CACHE_DIR"] = str(work / "default-cache")
        log(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; work dir {work}")
        run_sections(args, work, figures)
    figures["ratios"] = ratios(figures)
    print_ratios(figures["ratios"])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()

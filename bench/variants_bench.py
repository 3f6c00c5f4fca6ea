"""(g) Model variants, for bench/bench.py.

- ``harness ingest`` of the corpus with MODEL@onnx against raw ``SentenceTransformer.encode``
  (torch, batched) of the same lines, alternated for a few rounds (best time of each), and
  the minimum cosine between the stored ONNX vectors and torch's over the whole corpus;
- one table of every variant, each measured in a fresh process: build time (export,
  quantisation, distillation: once, then cached), throughput on a sample, the process's
  peak RSS (whether it imported torch), size on disk, vector bytes per row in Milvus, and
  its quality loss against the base on that sample (same-text cosine, overlap@10 of exact
  top-10 results for probe lines).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

FULL_VARIANTS = ("onnx", "onnx-qint8", "openvino", "dim=256", "onnx-qint8,dim=256", "static")
SMOKE_VARIANTS = ("onnx", "onnx-qint8", "openvino", "dim=16", "static")


def log(*parts) -> None:
    print(*parts, flush=True)


def build_tiny_bert(folder: Path, hidden: int = 32, seed: int = 0) -> Path:
    """A random 2-layer BERT sentence-transformers folder (word-level vocabulary of the
    synthetic corpus): it measures that the variant path runs, not speed or quality."""
    if (folder / "modules.json").exists():
        return folder
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from synthetic import synthetic_lines

    torch.manual_seed(seed)
    words = sorted({w.strip(",.!?'").lower() for line in synthetic_lines(5000) for w in line.split()})
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    raw = folder.parent / f"{folder.name}-raw"
    raw.mkdir(parents=True, exist_ok=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=hidden * 2,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(raw)
    BertTokenizerFast(vocab=vocab, do_lower_case=True).save_pretrained(raw)
    transformer = Transformer(str(raw), max_seq_length=48)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu").save(str(folder))
    return folder


def _torch_encode(model, texts: list[str], batch_size: int) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True)
    return time.perf_counter() - started, np.asarray(vectors, dtype=np.float32)


def _stored_vectors(db: Path, name: str, ids: list[int]) -> np.ndarray:
    from harness.store import Store, rows_of

    with Store(str(db)) as store:
        return rows_of(store, name, ids).vectors


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def onnx_ingest_vs_raw(args, work: Path, spec: str, corpus: Path, figures: dict) -> None:
    """Raw torch encode and an ingest with @onnx, alternated for ``--onnx-rounds`` rounds;
    the best time of each is compared, so that a round slowed by another process's load
    does not decide the ratio."""
    import harness
    from harness.inputs import CorpusReader
    from harness.models import load_model
    from harness.store import collection_name

    records = list(CorpusReader(corpus))
    texts = [r.text for r in records]
    base = load_model(spec, device="cpu")
    base.model.encode(texts[:64], batch_size=args.batch_size)  # warm-up
    started = time.perf_counter()
    load_model(f"{spec}@onnx", device="cpu")  # export once, outside the timed ingests
    figures["onnx_export_s"] = time.perf_counter() - started
    raw_runs, ingest_runs, torch_vectors, name = [], [], None, ""
    for round_ in range(args.onnx_rounds):
        raw_s, torch_vectors = _torch_encode(base.model, texts, args.batch_size)
        ingest_s, report = timed_ingest(harness, corpus, f"{spec}@onnx", work / f"onnx-{round_}.db", args.batch_size)
        row = report.models[0]
        raw_runs.append(raw_s)
        ingest_runs.append(ingest_s - row.load_s)
        name = collection_name(row.model)
        log(
            f"(g) round {round_ + 1}: raw torch encode {raw_s:.2f} s; harness ingest of {spec}@onnx "
            f"{ingest_s - row.load_s:.2f} s without its {row.load_s:.2f} s load (encode {row.encode_s:.2f}, "
            f"insert {row.insert_s:.2f} in a worker thread, index {row.index_s:.2f})"
        )
    started = time.perf_counter()
    load_model(f"{spec}@onnx-qint8", device="cpu")  # quantise once, outside the timed ingest
    figures["onnx_quantise_s"] = time.perf_counter() - started
    int8_s, int8 = timed_ingest(harness, corpus, f"{spec}@onnx-qint8", work / "int8.db", args.batch_size)
    raw_s, ingest_s = min(raw_runs), min(ingest_runs)
    figures.update(
        {
            "onnx_raw_encode_s": raw_s,
            "onnx_raw_encode_runs_s": raw_runs,
            "onnx_ingest_s": ingest_s,
            "onnx_ingest_runs_s": ingest_runs,
            "onnx_qint8_ingest_s": int8_s - int8.models[0].load_s,
        }
    )
    assert torch_vectors is not None
    stored = _stored_vectors(work / "onnx-0.db", name, [r.id for r in records])
    cosines = (_unit(stored) * _unit(torch_vectors)).sum(axis=1)
    figures["onnx_min_cosine"] = float(cosines.min())
    log(
        f"(g) onnx_raw_encode_s      {raw_s:9.2f} s   (torch, batch {args.batch_size}, best of "
        f"{len(raw_runs)}; {len(texts) / raw_s:,.0f} sentences/s)"
    )
    log(
        f"(g) onnx_ingest_s          {ingest_s:9.2f} s   (harness ingest with {spec}@onnx, best of {len(ingest_runs)}, "
        f"without the model load; export once beforehand {figures['onnx_export_s']:.1f} s)"
    )
    log(f"(g) onnx_min_cosine        {cosines.min():9.7f}     (stored ONNX vectors vs torch's, {len(texts)} lines)")
    log(
        f"(g) onnx_qint8_ingest_s    {figures['onnx_qint8_ingest_s']:9.2f} s   (the same with {spec}@onnx-qint8, once: "
        f"{raw_s / figures['onnx_qint8_ingest_s']:.2f}x the best raw torch encode; its vectors move, see the table)"
    )


def timed_ingest(harness, corpus: Path, spec: str, db: Path, batch_size: int):
    started = time.perf_counter()
    report = harness.ingest(corpus, [spec], uri=str(db), batch_size=batch_size, cache=False)
    return time.perf_counter() - started, report


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that over an
    exec, so a child started from a large parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_child(spec: str, texts_file: Path, probes_file: Path, out: Path, batch_size: int, repeats: int) -> None:
    """In a fresh process: load one variant, encode the sample (after a warm-up, ``repeats``
    times, the best kept: other processes' load only ever slows a run down) and the probes,
    save the vectors, print throughput and this process's peak RSS as JSON."""
    import json

    from harness.models import load_model

    texts = texts_file.read_text().splitlines()
    probes = probes_file.read_text().splitlines()
    embedder = load_model(spec, device="cpu")
    embedder.encode(texts[:batch_size], batch_size)
    encode_s = float("inf")
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        vectors = embedder.encode(texts, batch_size)
        encode_s = min(encode_s, time.perf_counter() - started)
    np.save(out / "vectors.npy", vectors)
    np.save(out / "probes.npy", embedder.encode(probes, batch_size, role="query"))
    import sys

    figures = {
        "sentences_per_s": len(texts) / encode_s,
        "peak_rss_mb": _peak_rss_mb(),
        "torch_imported": "torch" in sys.modules,
        "size_mb": (embedder.describe().size_bytes or 0) / 1e6,
        "dimension": embedder.dimension,
    }
    print(json.dumps(figures))


def _exact_top(queries: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(_unit(queries) @ _unit(rows).T), axis=1, kind="stable")[:, :k]


def _run_child(args, spec: str, work: Path, label: str) -> dict:
    import json
    import subprocess
    import sys

    out = work / f"variant-{label or 'base'}".replace(",", "_").replace("=", "")
    out.mkdir(exist_ok=True)
    command = [sys.executable, __file__, spec, str(work / "sample.txt"), str(work / "probes.txt"), str(out)]
    done = subprocess.run([*command, str(args.batch_size), str(args.variant_repeats)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"variant child {spec} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["vectors"], figures["probes"] = np.load(out / "vectors.npy"), np.load(out / "probes.npy")
    return figures


def variant_table(args, spec: str, work: Path, variants: tuple[str, ...]) -> list[dict]:
    from harness.models import load_model, parse_variant

    rows: list[dict] = []
    reference: dict = {}
    for label in ("", *variants):
        full = f"{spec}@{label}" if label else spec
        started = time.perf_counter()
        load_model(full, device="cpu").close()  # builds the artefact on first use
        build_s = time.perf_counter() - started
        child = _run_child(args, full, work, label)
        vectors = child["vectors"]
        top = _exact_top(child["probes"], vectors, 10)
        if not label:
            reference = {"vectors": vectors, "top": top, "speed": child["sentences_per_s"]}
        width = vectors.shape[1]
        static = bool(label) and parse_variant(label).backend == "static"
        cosines = (_unit(reference["vectors"][:, :width]) * _unit(vectors)).sum(axis=1) if not static else None
        rows.append(
            {
                "variant": label or "(base)",
                "dimension": width,
                "build_s": build_s if label else 0.0,
                "sentences_per_s": child["sentences_per_s"],
                "speedup": child["sentences_per_s"] / reference["speed"],
                "peak_rss_mb": child["peak_rss_mb"],
                "torch_imported": child["torch_imported"],
                "size_mb": child["size_mb"],
                "bytes_per_row": width * 4,
                "same_text_cosine": float(cosines.mean()) if cosines is not None else float("nan"),
                "min_cosine": float(cosines.min()) if cosines is not None else float("nan"),
                "overlap_at_10": float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(reference["top"], top)])),
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    log(
        f"{'variant':<20} {'dim':>4} {'build s':>8} {'sent/s':>8} {'speedup':>8} {'RSS MB':>7} {'torch':>5} "
        f"{'size MB':>8} {'B/row':>6} {'cos mean':>9} {'cos min':>8} {'overlap@10':>10}"
    )
    for r in rows:
        log(
            f"{r['variant']:<20} {r['dimension']:>4} {r['build_s']:>8.1f} {r['sentences_per_s']:>8.0f} "
            f"{r['speedup']:>8.2f} {r['peak_rss_mb']:>7.0f} {'yes' if r['torch_imported'] else 'no':>5} "
            f"{r['size_mb']:>8.1f} {r['bytes_per_row']:>6} {r['same_text_cosine']:>9.4f} {r['min_cosine']:>8.4f} "
            f"{r['overlap_at_10']:>10.3f}"
        )


def bench_variants(args, work: Path, figures: dict) -> None:
    from harness.inputs import CorpusReader

    from synthetic import synthetic_lines, write_synthetic_corpus

    os.environ["HARNESS_MODEL_DIR"] = str(work / "models")  # artefacts built (and timed) afresh
    spec = str(build_tiny_bert(work / "tiny-bert")) if args.smoke else args.variant_model
    variants = SMOKE_VARIANTS if args.smoke else FULL_VARIANTS
    corpus = work / "variants-corpus.txt"
    write_synthetic_corpus(corpus, args.lines, seed=1)
    log(f"(g) variants of {spec if not args.smoke else 'a random tiny BERT (smoke)'} on {args.lines} lines")
    onnx_ingest_vs_raw(args, work, spec, corpus, figures)
    texts = [r.text for r in CorpusReader(corpus)][: args.variant_sample]
    (work / "sample.txt").write_text("\n".join(texts) + "\n")
    (work / "probes.txt").write_text("\n".join(synthetic_lines(args.variant_probes, seed=7)) + "\n")
    rows = variant_table(args, spec, work, variants)
    for row in rows:  # built before the timed ingests above, so the table's first load found it ready
        # @openvino compiles the @onnx export when it loads: its build is that export
        built = {"onnx": figures["onnx_export_s"], "onnx-qint8": figures["onnx_quantise_s"]}
        built["openvino"] = figures["onnx_export_s"]
        row["build_s"] = built.get(row["variant"], row["build_s"])
    figures["variants"] = rows
    log(
        f"(g) variants on {len(texts)} lines, each in a fresh process (throughput: best of {args.variant_repeats} "
        f"encodes after a warm-up; peak RSS of that "
        f"process, libraries included; quality against the base on the same lines; overlap@10 of exact top-10 "
        f"results for {args.variant_probes} probe lines)"
    )
    print_table(rows)


if __name__ == "__main__":  # a child of variant_table: SPEC TEXTS PROBES OUT BATCH REPEATS
    import sys

    measure_child(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), *map(int, sys.argv[5:7]))

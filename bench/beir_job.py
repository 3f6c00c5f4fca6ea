#!/usr/bin/env python
"""A retrieval benchmark of BEIR's shape, made up: long documents (150-300 words, most beyond
all-MiniLM-L6-v2's 256 tokens), queries with several relevant documents each, distractors
that share their words. It measures cost, not quality: peak memory of `harness compare` at
two corpus sizes, and its time against bench/raw_job.py on the same job.

    python bench/beir_job.py make DIR --docs 5000 --queries 300     # corpus.txt, probes.csv, qrels.csv
    python bench/beir_job.py rss DIR -m all-MiniLM-L6-v2 -m minilm-sre [--index FLAT]
    python bench/beir_job.py ratio DIR -m all-MiniLM-L6-v2 -m minilm-sre [--repeats 1]
    python bench/beir_job.py rss DIR --static 2     # two random static models: cost at any size, fast
    python bench/beir_job.py flat DIR                # 300 queries on a FLAT Lite collection: pymilvus vs harness
    python bench/beir_job.py encode DIR              # 512 long documents: batches of 64 vs the harness's

The corpus is one document a line (a .txt corpus, ids from the text, as raw_job.py reads it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.records import text_id  # noqa: E402

from synthetic import synthetic_lines  # noqa: E402

RELEVANT = (2, 5)  # relevant documents per query
TOPIC_WORDS = 4


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def make(folder: Path, docs: int, queries: int, seed: int = 0) -> None:
    """corpus.txt (a document a line), probes.csv (id,text), qrels.csv (probe_id,corpus_id,relevance)."""
    rng = random.Random(seed)
    topics = [rng.sample(_vocabulary(rng, 4000), TOPIC_WORDS) for _ in range(queries)]
    lines = synthetic_lines(docs * 40, seed=seed)
    relevant: dict[int, list[int]] = {}
    documents: list[str] = []
    for q in range(queries):
        for _ in range(rng.randint(*RELEVANT)):
            relevant.setdefault(q, []).append(len(documents))
            documents.append(_document(rng, lines, topics[q], strong=True))
    while len(documents) < docs:  # distractors: a word or two of some topic, no topic's set
        documents.append(_document(rng, lines, rng.sample(topics[rng.randrange(queries)], 1), strong=False))
    order = list(range(len(documents)))
    rng.shuffle(order)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.txt").write_text("\n".join(documents[i] for i in order) + "\n")
    with open(folder / "probes.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for q, words in enumerate(topics):
            writer.writerow([f"q{q + 1}", f"what is known about {' and '.join(words[:3])} in the {words[3]} case"])
    with open(folder / "qrels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["probe_id", "corpus_id", "relevance"])
        for q, found in relevant.items():
            for d in found:
                writer.writerow([f"q{q + 1}", text_id(documents[d]), 1])


def _document(rng: random.Random, lines, words: list[str], strong: bool) -> str:
    target = rng.randint(150, 300)
    parts: list[str] = []
    count = 0
    while count < target:
        line = next(lines)
        if rng.random() < (0.35 if strong else 0.1):
            line = f"{line} {rng.choice(words)}"
        parts.append(line.rstrip(".") + ".")
        count += len(line.split())
    return " ".join(parts)


def _child(command: list[str], env: dict) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    wrapped = ["/usr/bin/time", "-f", "%M", *command] if Path("/usr/bin/time").exists() else command
    done = subprocess.run(wrapped, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[1:4]} failed:\n{done.stderr[-3000:]}")
    peak = int(done.stderr.strip().splitlines()[-1]) / 1024 if wrapped is not command else after.ru_maxrss / 1024
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak, "stdout": done.stdout}


def _compare(folder: Path, models: list[str], work: Path, extra: list[str]) -> list[str]:
    command = [sys.executable, "-m", "harness.cli", "compare", "--corpus", str(folder / "corpus.txt")]
    command += ["--probes", str(folder / "probes.csv"), "--qrels", str(folder / "qrels.csv")]
    command += ["--uri", str(work / "compare.db"), "--output", str(work / "run"), *extra]
    for model in models:
        command += ["-m", model]
    return command


def _env(work: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "HARNESS_CACHE_DIR": str(work / "cache"), "HF_HUB_OFFLINE": "1"}


def rss(folder: Path, models: list[str], index: str, work: Path) -> dict:
    """Peak RSS of one `harness compare` (every measure, both baselines) in a fresh process."""
    work.mkdir(parents=True, exist_ok=True)
    found = _child(_compare(folder, models, work, ["--index", index, "--cost-repeats", "1"]), _env(work))
    found.pop("stdout")
    print(json.dumps({"job": "rss", "folder": str(folder), "index": index, **found}), flush=True)
    return found


def ratio(folder: Path, models: list[str], work: Path, repeats: int) -> dict:
    """`harness compare` (retrieval only, no baselines, no timing) against raw_job.py, alternately."""
    from harness.models import resolve_model

    folders = [str(resolve_model(m).path) for m in models]
    raw_s, mine_s = [], []
    for i in range(repeats):
        run = work / f"ratio-{i}"
        run.mkdir(parents=True, exist_ok=True)
        raw = [sys.executable, str(REPO / "bench" / "raw_job.py"), str(folder / "corpus.txt")]
        raw += [str(folder / "probes.csv"), str(folder / "qrels.csv"), str(run / "raw.db"), *folders]
        raw_s.append(_child(raw, _env(run))["wall_s"])
        extra = ["--top-k", "10", "--nprobe", "8", "--measures", "retrieval", "--baselines", "none", "--repeats", "0"]
        mine_s.append(_child(_compare(folder, models, run, extra), _env(run))["wall_s"])
        print(json.dumps({"job": "ratio", "round": i, "raw_job_s": raw_s[-1], "harness_compare_s": mine_s[-1]}))
    found = {"raw_job_s": statistics.median(raw_s), "harness_compare_s": statistics.median(mine_s)}
    found["ratio"] = found["harness_compare_s"] / found["raw_job_s"]
    print(json.dumps({"job": "ratio", **found}), flush=True)
    return found


FLAT_CHILD = """
import resource, sys, time
import numpy as np
from harness.records import CollectionMeta, IndexSpec, ModelRecord
from harness.store import connect
store = connect(sys.argv[1])
if not store.has_collection("m"):
    store.create_collection("m", 384, CollectionMeta(ModelRecord("x")))
    vectors = np.random.default_rng(0).standard_normal((5183, 384)).astype(np.float32)
    store.insert("m", list(range(5183)), ["t"] * 5183, ["g"] * 5183, vectors)
    store.build_index("m", IndexSpec("FLAT", "L2", None))
store.ensure_loaded("m")
queries = np.random.default_rng(1).standard_normal((300, 384)).astype(np.float32)
started = time.perf_counter()
if sys.argv[2] == "pymilvus":
    store.client.search("m", data=list(queries), limit=10, search_params={"metric_type": "L2", "params": {}},
                        output_fields=["text"])
else:
    store.search("m", queries, 10)
print(sys.argv[2], round(time.perf_counter() - started, 2), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
store.close()
"""

ENCODE_CHILD = """
import resource, sys, time
from harness.models import load_model, resolve_model
texts = open(sys.argv[1]).read().splitlines()[:512]
model = load_model(resolve_model("all-MiniLM-L6-v2"))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
started = time.perf_counter()
if sys.argv[2] == "raw":
    model.model.encode_document(texts, batch_size=64, convert_to_numpy=True)
else:
    model.encode(texts, 64)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(sys.argv[2], base, peak, round(time.perf_counter() - started, 1))
"""


def flat(work: Path) -> None:
    """Peak RSS and time of 300 queries at once against 5,183 FLAT rows of 384-d on Lite."""
    work.mkdir(parents=True, exist_ok=True)
    for side in ("harness", "pymilvus"):
        out = subprocess.run(
            [sys.executable, "-c", FLAT_CHILD, str(work / "flat.db"), side],
            capture_output=True,
            text=True,
            env=_env(work),
            check=True,
        ).stdout.split()
        print(json.dumps({"job": "flat", "side": out[0], "seconds": float(out[1]), "peak_rss_mb": int(out[2])}))


def encode(folder: Path, work: Path) -> None:
    """Memory and time of encoding 512 long documents: one batch size (64) against the harness's."""
    for side in ("harness", "raw"):
        out = subprocess.run(
            [sys.executable, "-c", ENCODE_CHILD, str(folder / "corpus.txt"), side],
            capture_output=True,
            text=True,
            env=_env(work),
            check=True,
        ).stdout.split()
        print(
            json.dumps(
                {
                    "job": "encode",
                    "side": out[0],
                    "load_rss_mb": int(out[1]),
                    "peak_rss_mb": int(out[2]),
                    "seconds": float(out[3]),
                }
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("make", "rss", "ratio", "flat", "encode"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("-m", "--model", action="append", default=[])
    parser.add_argument("--index", default="FLAT")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--static", type=int, default=0, help="add N random static models (256-d) to -m")
    args = parser.parse_args()
    work = args.work or args.folder / "work"
    if args.static:
        from bench import build_static_model

        built = work / "static-models"
        args.model += [str(build_static_model(built / f"static-{seed}", seed=seed)) for seed in range(args.static)]
    if args.what == "make":
        make(args.folder, args.docs, args.queries)
    elif args.what == "rss":
        rss(args.folder, args.model, args.index, work)
    elif args.what == "flat":
        flat(work)
    elif args.what == "encode":
        encode(args.folder, work)
    else:
        ratio(args.folder, args.model, work, args.repeats)


if __name__ == "__main__":
    main()

"""bench/bench.py --smoke runs to the end and prints every figure (times are not checked)."""

import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

FIGURES = (
    "raw_encode_s",
    "loop_encode_s",
    "ingest_s",
    "reingest_same_db_s",
    "reingest_warm_cache_s",
    "raw_search_ms",
    "harness_search_ms",
    "peak_rss_mb[2000]",
    "peak_rss_mb[4000]",
    "ingest_vs_raw_encode",
    "loop_vs_ingest_speedup",
    "reingest_speedup",
    "query_vs_raw_search",
    "rss_growth",
    "onnx_raw_encode_s",
    "onnx_ingest_s",
    "onnx_min_cosine",
    "onnx_qint8_ingest_s",
    "onnx_ingest_speedup",
    "overlap@10",
    "raw_job_s",
    "harness_compare_s",
    "compare_vs_raw_job",
)


def test_bench_smoke(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench.py"), "--smoke", "--json", str(tmp_path / "b.json")],
        capture_output=True,
        text=True,
        timeout=600,  # the compare section runs harness compare and raw_job.py in fresh processes
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in FIGURES:
        assert name in done.stdout, f"{name} missing from:\n{done.stdout}"
    assert (tmp_path / "b.json").exists()

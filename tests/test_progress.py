"""Progress that reaches a log: a plain line every few seconds where a terminal gets a bar."""

from __future__ import annotations

from harness.cli.common import ProgressLines, progress_line
from harness.records import Progress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_per_interval_with_rate_and_eta():
    clock, lines = Clock(), []
    progress = ProgressLines(lines.append, interval=10, clock=clock)
    progress(Progress("tiny-a", 0, 5000, "rows"))
    clock.now += 4
    progress(Progress("tiny-a", 1000, 5000, "rows"))  # 4 s: too soon for a line
    assert lines == []
    clock.now += 6
    progress(Progress("tiny-a", 2000, 5000, "rows"))
    assert lines == ["tiny-a: 2000/5000 rows, 200 rows/s, ETA 15s"]
    clock.now += 5
    progress(Progress("tiny-a", 3000, 5000, "rows"))
    assert len(lines) == 1
    clock.now += 5
    progress(Progress("tiny-b", 500, None))  # a new stage: its rate from when it was first seen
    assert lines[-1] == "tiny-b: 500"
    assert progress_line(Progress("cost x", 3, 12), 40, 3) == "cost x: 3/12, 0.075/s, ETA 2m00s"


def test_ingest_into_a_log_prints_progress_lines_and_quiet_none(run_cli, small_corpus, tmp_path, monkeypatch):
    import harness.cli.common

    monkeypatch.setattr(harness.cli.common, "PROGRESS_INTERVAL", 0.0)  # a line at every step
    db = tmp_path / "h.db"
    args = ("ingest", "--corpus", small_corpus, "-m", "hashing", "--uri", db, "--index", "FLAT", "--chunk-size", "10")
    result = run_cli(*args)
    assert result.code == 0, result
    lines = [line for line in result.err.splitlines() if line.startswith("hashing: ")]
    assert lines and lines[-1].startswith("hashing: 72/72 rows"), result.err
    assert any("rows/s, ETA" in line for line in lines)
    quiet = run_cli(*args, "--recreate", "--quiet")
    assert quiet.code == 0 and "rows/s" not in quiet.err and "hashing: " not in quiet.err

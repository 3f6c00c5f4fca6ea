"""Build ``corpora/blake.qrels.csv`` from the readable ``corpora/blake.judgements.csv``.

The judgement file has columns ``probe_id,relevance,line`` where ``line`` is the
exact text of a line of ``blake.txt`` (2 = the line directly expresses the
probe's idea, 1 = an on-topic line of the song the probe is about). This script
turns each judged line into its ``corpus_id`` -- the id the harness gives a
line of a .txt corpus -- and writes ``probe_id,corpus_id,relevance``.

It fails loudly (exit status 1, every problem listed) when a judged line is not
a line of blake.txt, a probe id is not in blake.probes.csv, a relevance is not
1 or 2, or a probe has no judgement. A line that occurs more than once in the
corpus has one id, so it yields a single qrels row (its highest relevance).

Usage, from the repository root::

    python corpora/build_qrels.py            # defaults below
    python corpora/build_qrels.py --corpus corpora/blake.txt \\
        --probes corpora/blake.probes.csv --judgements corpora/blake.judgements.csv \\
        --output corpora/blake.qrels.csv

Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def text_id(text: str) -> int:
    """The harness's id for a line of a .txt corpus (text already stripped)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def corpus_lines(path: Path) -> set[str]:
    """Sentence lines of a .txt corpus: not blank, not a '# title' line, stripped."""
    lines = set()
    with path.open(encoding="utf-8") as f:
        for raw in f:
            s = raw.strip()
            if s and not s.startswith("#"):
                lines.add(s)
    return lines


def main(argv: list[str] | None = None) -> int:  # noqa: C901 (a one-off build script, read top to bottom)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=HERE / "blake.txt")
    ap.add_argument("--probes", type=Path, default=HERE / "blake.probes.csv")
    ap.add_argument("--judgements", type=Path, default=HERE / "blake.judgements.csv")
    ap.add_argument("--output", type=Path, default=HERE / "blake.qrels.csv")
    args = ap.parse_args(argv)

    lines = corpus_lines(args.corpus)
    with args.probes.open(encoding="utf-8", newline="") as f:
        probe_ids = [row["id"] for row in csv.DictReader(f)]

    errors: list[str] = []
    best: dict[tuple[str, int], int] = {}
    order: list[tuple[str, int]] = []
    with args.judgements.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != ["probe_id", "relevance", "line"]:
            errors.append(f"{args.judgements}: header must be probe_id,relevance,line, got {reader.fieldnames}")
            reader = iter(())
        for n, row in enumerate(reader, start=2):
            pid, rel, line = row["probe_id"], row["relevance"], row["line"]
            where = f"{args.judgements}:{n}"
            if pid not in probe_ids:
                errors.append(f"{where}: unknown probe id {pid!r}")
            if rel not in ("1", "2"):
                errors.append(f"{where}: relevance must be 1 or 2, got {rel!r}")
                continue
            if line != line.strip():
                errors.append(f"{where}: line has surrounding whitespace: {line!r}")
            if line.strip() not in lines:
                errors.append(f"{where}: line not in {args.corpus.name}: {line!r}")
                continue
            key = (pid, text_id(line.strip()))
            if key not in best:
                order.append(key)
                best[key] = int(rel)
            else:
                best[key] = max(best[key], int(rel))

    judged = {pid for pid, _ in order}
    for pid in probe_ids:
        if pid not in judged:
            errors.append(f"probe {pid!r} has no judged line")

    if errors:
        print(f"{len(errors)} problem(s); {args.output} not written:", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1

    rank = {pid: i for i, pid in enumerate(probe_ids)}
    rows = sorted(order, key=lambda k: (rank[k[0]], -best[k]))  # stable: judgement order
    with args.output.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["probe_id", "corpus_id", "relevance"])
        for pid, cid in rows:
            w.writerow([pid, cid, best[(pid, cid)]])
    per_probe = {pid: sum(1 for p, _ in rows if p == pid) for pid in probe_ids}
    print(
        f"wrote {args.output}: {len(rows)} rows for {len(probe_ids)} probes "
        f"(per probe {min(per_probe.values())}-{max(per_probe.values())})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

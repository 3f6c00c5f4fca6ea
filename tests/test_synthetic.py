"""Tests for harness.synthetic: determinism, uniqueness, word counts, corpus file."""

from __future__ import annotations

import itertools
import re
import time

import pytest

import synthetic
from synthetic import synthetic_lines, write_synthetic_corpus


def test_deterministic_per_seed():
    a = list(synthetic_lines(5000, seed=7))
    b = list(synthetic_lines(5000, seed=7))
    assert a == b
    assert a != list(synthetic_lines(5000, seed=8))


def test_prefix_stable():
    # the first k lines do not depend on n
    assert list(synthetic_lines(100, seed=3)) == list(synthetic_lines(1000, seed=3))[:100]


def test_exact_count_and_edge_cases():
    assert sum(1 for _ in synthetic_lines(12345)) == 12345
    assert list(synthetic_lines(0)) == []
    with pytest.raises(ValueError):
        list(synthetic_lines(-1))
    with pytest.raises(ValueError):
        list(synthetic_lines(synthetic.capacity() + 1))


def test_unique_over_200k():
    lines = list(synthetic_lines(200_000, seed=0))
    assert len(lines) == 200_000
    assert len(set(lines)) == 200_000


def test_word_count_and_shape():
    for line in synthetic_lines(50_000, seed=1):
        assert 5 <= len(line.split()) <= 14, line
        assert line == line.strip() and "  " not in line and "\n" not in line
        assert line[0].isupper() and not line.startswith("#"), line
        assert not any(ch.isdigit() for ch in line), line  # no visible counters


def test_every_template_in_first_round():
    # lines are dealt to templates in rounds: the first round uses each template once
    templates = synthetic._COMPILED
    patterns = [re.compile("^" + ".+".join(map(re.escape, t.fmt.split("{}"))) + "$") for t in templates]
    first_round = list(synthetic_lines(len(templates), seed=5))
    for pat in patterns:
        assert sum(1 for line in first_round if pat.match(line)) >= 1, pat.pattern


def test_templates_cannot_collide():
    synthetic._check_templates(synthetic._COMPILED)
    # and the checker does catch a collision
    a = synthetic._Template(("I", ("walked", "ran"), "down the road today"))
    b = synthetic._Template((("I", "we"), "ran", "down the road today"))
    with pytest.raises(ValueError):
        synthetic._check_templates([a, b])


def test_bijection_over_full_capacity(monkeypatch):
    # With tiny templates the whole capacity can be enumerated: every line distinct,
    # including after the smaller templates are exhausted.
    small = tuple(
        synthetic._Template(spec)
        for spec in (
            ("I", ("walked", "ran", "drove"), "down the", ("old", "long"), "road"),
            ("We", ("sang", "wept"), "by the", ("river", "sea", "lake", "bridge", "mill"), "tonight"),
            ("Somewhere a", ("dog", "bird"), "is", ("singing", "crying"), "alone"),
        )
    )
    synthetic._check_templates(small)
    monkeypatch.setattr(synthetic, "_COMPILED", small)
    cap = synthetic.capacity()
    assert cap == 6 + 10 + 4
    for seed in range(5):
        lines = list(synthetic_lines(cap, seed=seed))
        assert len(lines) == cap and len(set(lines)) == cap
    with pytest.raises(ValueError):
        list(synthetic_lines(cap + 1))


def test_memory_does_not_grow():
    # a generator: taking a few lines from a huge request is immediate
    t = time.perf_counter()
    head = list(itertools.islice(synthetic_lines(1_000_000_000), 10))
    assert len(head) == 10 and time.perf_counter() - t < 1.0


def _parse_txt(path):
    """Minimal reader of the .txt corpus format: returns list of groups (lists of lines)."""
    groups, current, titles = [], None, []
    for raw in path.read_text(encoding="utf-8").splitlines():
        s = raw.strip()
        if s.startswith("#"):
            titles.append(s)
            current = []
            groups.append(current)
        elif not s:
            current = None
        else:
            if current is None:
                current = []
                groups.append(current)
            current.append(s)
    return titles, groups


@pytest.mark.parametrize("n,group_size", [(100, 12), (120, 12), (7, 3), (5, 1), (0, 12)])
def test_write_synthetic_corpus(tmp_path, n, group_size):
    path = tmp_path / "synthetic.txt"
    write_synthetic_corpus(path, n, seed=2, group_size=group_size)
    text = path.read_text(encoding="utf-8")
    sentence_lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert sentence_lines == list(synthetic_lines(n, seed=2))

    titles, groups = _parse_txt(path)
    n_groups = -(-n // group_size)
    assert titles == [f"# Song {i}" for i in range(1, n_groups + 1)]
    assert len(groups) == n_groups
    assert all(groups), "no empty groups"
    assert [len(g) for g in groups] == [group_size] * (n // group_size) + ([n % group_size] if n % group_size else [])


def test_write_rejects_bad_group_size(tmp_path):
    with pytest.raises(ValueError):
        write_synthetic_corpus(tmp_path / "x.txt", 10, group_size=0)


def test_speed_one_million():
    t = time.perf_counter()
    count = sum(1 for _ in synthetic_lines(1_000_000, seed=0))
    elapsed = time.perf_counter() - t
    assert count == 1_000_000
    assert elapsed < 30, f"1M lines took {elapsed:.1f}s"  # ~4 s on one core here; loose bound

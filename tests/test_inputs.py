import json

import numpy as np
import pandas as pd
import pytest

from harness import inputs
from harness.errors import CorpusError, HarnessError
from harness.inputs import CorpusReader, default_probe_file, load_corpus, load_probes, record_id, text_id

from conftest import CORPORA


def test_txt_groups_titles_duplicates_and_empty_lines(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("# First Song\nhello there\n\nsecond group line\n# Third\nhello there\nlast line\n\n\n")
    records, stats = load_corpus(path)
    assert [r.text for r in records] == ["hello there", "second group line", "last line"]
    assert [r.group for r in records] == ["First Song", "group 2", "Third"]
    assert stats.duplicates == 1
    assert stats.empty == 3
    assert records[0].id == text_id("hello there")


def test_shipped_corpus_reads_with_songs_as_groups():
    records, stats = load_corpus(CORPORA / "blake.txt")
    assert stats.records > 800
    assert 40 <= len(stats.groups) <= 50
    assert any(r.group.startswith("The Tyger") or r.group.startswith("The Tiger") for r in records)
    assert default_probe_file(CORPORA / "blake.txt") == CORPORA / "blake.probes.csv"
    assert len(load_probes(CORPORA / "blake.probes.csv")) >= 10


def test_table_formats_with_chosen_columns(tmp_path):
    rows = [{"key": "a1", "body": "first", "song": "x"}, {"key": "7", "body": "second", "song": "y"}]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    pd.DataFrame(rows).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame(rows).to_parquet(tmp_path / "c.parquet")
    for suffix in ("jsonl", "csv", "parquet"):
        records, _ = load_corpus(tmp_path / f"c.{suffix}", text_column="body", id_column="key", group_column="song")
        assert [(r.id, r.text, r.group) for r in records] == [(record_id("a1"), "first", "x"), (7, "second", "y")]


def test_missing_file_and_wrong_extension(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        CorpusReader(tmp_path / "nope.txt")
    (tmp_path / "c.docx").write_text("x")
    with pytest.raises(CorpusError, match="unsupported extension"):
        CorpusReader(tmp_path / "c.docx")


def test_undecodable_bytes_name_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine line\nanother\nbroken \xff here\n")
    with pytest.raises(CorpusError, match=r"line 3 is not valid UTF-8"):
        load_corpus(path)


def test_no_usable_lines(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n# only a title\n   \n")
    with pytest.raises(CorpusError, match="no usable lines"):
        load_corpus(path)


def test_missing_text_column(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("sentence,label\nhello,1\n")
    with pytest.raises(CorpusError, match="no column 'text'"):
        load_corpus(path)


def test_probe_ids_and_duplicates(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("first probe\n\nsecond probe\n")
    assert [(p.id, p.text) for p in load_probes(path)] == [("p1", "first probe"), ("p2", "second probe")]
    dup = tmp_path / "p.csv"
    dup.write_text("id,text\na,one\na,two\n")
    with pytest.raises(CorpusError, match="repeats probe id 'a'"):
        load_probes(dup)


def test_shipped_pairs_and_qrels_parse():
    pairs = inputs.read_pairs(CORPORA / "pairs.csv", "label")
    assert set(pairs["gold"]) == {0.0, 1.0} and pairs.attrs["kind"] == "label"
    graded = inputs.read_pairs(CORPORA / "graded-pairs.csv")
    assert graded.attrs["kind"] == "score" and graded["gold"].nunique() > 2
    probes = load_probes(CORPORA / "blake.probes.csv")
    qrels = inputs.read_qrels(CORPORA / "blake.qrels.csv", [p.id for p in probes])
    assert len(qrels) > 100 and qrels["corpus_id"].dtype == np.int64


@pytest.mark.parametrize(
    "content, kind, message",
    [
        ("sentence1,label\na,1\n", "label", "line 1: missing column sentence2"),
        ("sentence1,sentence2,score\na,b,1\nc,d,high\n", "score", "line 3: unparseable score 'high'"),
        ("sentence1,sentence2,label\na,b,1\nc,d,2\n", "label", "line 3: label must be 1 or 0"),
        ("sentence1,sentence2,label\na,,1\n", "label", "line 2: empty sentence1 or sentence2"),
        ("sentence1,sentence2,score\n", "score", "has no pairs"),
    ],
)
def test_bad_pairs_name_file_and_line(tmp_path, content, kind, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(HarnessError) as caught:
        inputs.read_pairs(path, kind)
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_qrels_name_file_and_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("probe_id,corpus_id\np1,5\n")
    with pytest.raises(HarnessError, match="line 1: missing column relevance"):
        inputs.read_qrels(path, ["p1"])
    path.write_text("probe_id,corpus_id,relevance\np1,5,1\np9,5,1\n")
    with pytest.raises(HarnessError, match=r"line 3: unknown probe id 'p9'"):
        inputs.read_qrels(path, ["p1"])
    path.write_text("probe_id,corpus_id,relevance\np1,5,x\n")
    with pytest.raises(HarnessError, match=r"line 2: unparseable relevance 'x'"):
        inputs.read_qrels(path, ["p1"])
    path.write_text("probe_id,corpus_id,relevance\np1,5,1\np1,77,1\n")
    qrels = inputs.read_qrels(path, ["p1"])
    with pytest.raises(HarnessError, match=r"line 3: unknown corpus id 77 \(not in collection c\)"):
        inputs.check_qrels_ids(qrels, [5, 6], path, "c")
    with pytest.raises(HarnessError, match="qrels file not found"):
        inputs.read_qrels(tmp_path / "missing.csv")

import json

import pandas as pd
import pytest

from harness.corpus import CorpusReader, default_probe_file, load_corpus, load_probes, record_id, text_id
from harness.errors import CorpusError

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

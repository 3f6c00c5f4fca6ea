"""Deterministic synthetic lyric-like lines for benchmarks.

``synthetic_lines(n, seed)`` yields ``n`` distinct lines such as
"I danced across the empty kitchen last night" or
"Somewhere a lonely fiddler is humming beyond the station". Pure Python,
standard library only, no imports from the rest of the harness.

How uniqueness is guaranteed without remembering earlier lines
----------------------------------------------------------------
Each *template* is a fixed sequence of tokens and *slots*; a slot is a word
list whose entries all have the same number of tokens, so every slot sits at
fixed token positions. A template therefore renders distinct word choices as
distinct lines, and it can produce exactly ``C_t`` lines (the product of its
slot sizes). Two templates of the same length never produce the same line
because at some token position their possible tokens are disjoint; this is
checked when the module is imported (``_check_templates``), together with the
5-14 word range.

Line ``i`` is mapped to a pair (template ``t``, index ``k < C_t``) by a
bijection that deals lines to the templates in rounds (every template once per
round, in a rotated order, until the smaller templates are used up), then ``k``
goes through a seeded affine permutation of ``range(C_t)`` and a mixed-radix
decomposition with a triangular (invertible) digit mix to pick one word per
slot. Every step is a bijection, so ``n`` lines are distinct as long as
``n <= capacity()`` (about 7.5e9), and memory does not grow with ``n``.

The seed only chooses permutations (a small splitmix64 generator, so output
does not depend on the Python version's ``random`` module).
"""

from __future__ import annotations

import math
import os
from typing import Iterator, Sequence, Union

__all__ = ["synthetic_lines", "write_synthetic_corpus", "capacity"]

MIN_WORDS, MAX_WORDS = 5, 14

# --------------------------------------------------------------------------- word lists
# fmt: off
# Entries are lowercase (proper names aside), distinct, and within a list all have
# the same number of space-separated tokens.

SUBJ = ("I", "we", "you", "she", "he", "they")
MOTION = ("walked", "wandered", "drove", "ran", "danced", "drifted", "rode", "stumbled",
          "roamed", "hurried", "strolled", "limped", "raced", "marched", "paced", "crept",
          "sailed", "trudged", "rambled", "hitchhiked", "staggered", "waltzed", "tiptoed",
          "rolled")
PREP = ("down", "along", "across", "through", "past", "beside", "toward", "around", "over",
        "beyond", "behind", "beneath")
ADJ = ("empty", "silent", "broken", "golden", "silver", "lonely", "quiet", "crooked",
       "burning", "frozen", "dusty", "hollow", "restless", "shining", "fading", "distant",
       "narrow", "endless", "ancient", "wild", "gentle", "bitter", "sleepy", "rusty", "muddy",
       "windy", "tired", "faded", "painted", "sacred", "forgotten", "crimson", "velvet",
       "misty", "stormy", "starlit", "sunlit", "moonlit", "northern", "southern", "western",
       "eastern", "open", "green", "blue", "grey", "black", "white", "red", "little", "old",
       "long", "wide", "cold", "warm", "dark", "bright", "lost", "secret", "holy", "weary",
       "rainy", "shadowed", "sweet")
ADJ_C = tuple(a for a in ADJ if a[0] not in "aeiou")  # after "a"
PLACE = ("road", "river", "highway", "street", "station", "harbor", "bridge", "valley",
         "meadow", "field", "town", "city", "church", "garden", "railroad", "shoreline",
         "hillside", "alley", "avenue", "canyon", "desert", "forest", "mountain", "lake",
         "ocean", "boulevard", "pier", "porch", "kitchen", "hallway", "orchard", "prairie",
         "border", "chapel", "graveyard", "crossroads", "dockyard", "vineyard", "rooftop",
         "boardwalk", "riverbank", "levee", "junction", "marketplace", "ballroom",
         "playground", "schoolyard", "cornfield")
TIME2 = ("last night", "at dawn", "at midnight", "this morning", "every sunday", "at sundown",
         "in spring", "till morning", "all winter", "each evening", "in summer", "after dark",
         "before dawn", "last summer", "all night", "once more", "in autumn", "at daybreak",
         "long ago", "back then")
ADV = ("tonight", "again", "alone", "slowly", "today", "together", "quietly", "softly",
       "forever", "barefoot", "tomorrow", "yesterday", "sometimes", "homeward", "unseen",
       "anyway")
ADV_T = ("tonight", "again", "today", "tomorrow", "forever", "now")
BODY = ("heart", "voice", "smile", "name", "love", "memory", "laughter", "shadow", "touch",
        "kiss", "promise", "silence", "song", "ghost", "picture", "whisper", "heartbeat",
        "perfume", "prayer", "laugh")
THING = ("bell", "lantern", "candle", "feather", "stone", "bird", "flower", "rose", "star",
         "wheel", "ship", "mirror", "window", "door", "key", "ring", "coin", "letter",
         "photograph", "guitar", "ribbon", "necklace", "bottle", "suitcase", "flag", "compass",
         "locket", "blanket", "sparrow", "shell", "crown", "mandolin", "harmonica", "postcard",
         "penny", "button", "rosary", "lullaby", "banjo", "teacup")
CREATURE = ("dog", "bird", "child", "stranger", "sailor", "drifter", "crow", "horse", "wolf",
            "fiddler", "preacher", "widow", "soldier", "lover", "gambler", "miner", "farmer",
            "dancer", "beggar", "orphan", "trucker", "nightingale", "coyote", "owl", "fox",
            "drummer", "poet", "bride", "shepherd", "hobo")
VING = ("singing", "crying", "waiting", "calling", "howling", "running", "dancing", "praying",
        "sleeping", "whistling", "wandering", "weeping", "laughing", "drinking", "dreaming",
        "searching", "walking", "shivering", "humming", "shouting", "kneeling", "hiding",
        "riding", "resting")
STATE_A = ("young", "wild", "foolish", "hungry", "reckless", "broken", "restless", "brave",
           "careless", "penniless", "barefoot", "golden", "fearless", "sleepless", "lonely",
           "tender")
STATE_B = ("free", "lost", "proud", "blind", "bold", "tired", "happy", "hopeful", "stubborn",
           "ragged", "shy", "sunburnt", "wide-eyed", "laughing", "unafraid", "dreaming")
SKY = ("sky", "moon", "stars", "rain", "snow", "sun", "clouds", "lights", "trees", "bridge",
       "willows", "streetlights", "thunder", "billboards", "pines", "rafters", "eaves",
       "neon", "lanterns", "rooftops")
NAME_C = tuple(n + "," for n in (
    "Mary", "Johnny", "Rosie", "Billy", "Annie", "Jesse", "Lucy", "Tommy", "Sally", "Frankie",
    "Molly", "Danny", "Josie", "Willie", "Maggie", "Caroline", "Georgia", "Delia", "Henry",
    "Louisa", "Clara", "Eli", "Nora", "Sam"))
NOUN_PL = ("winds", "years", "rains", "lights", "bells", "stars", "trains", "rivers",
           "shadows", "crowds", "roads", "storms", "tears", "rumors", "ghosts", "seasons",
           "preachers", "wolves")
VERB_INF = ("steal", "break", "bury", "drown", "freeze", "take", "burn", "silence", "scatter",
            "shake", "wound", "cloud", "dim", "hide", "trouble", "change", "chill", "darken",
            "rob", "tame")
LEFT = ("left", "found", "buried", "hid", "dropped", "lost", "forgot", "saw", "kept", "broke",
        "hung", "placed")
PAIR2 = ("winds blow", "bells ring", "rivers rise", "stars fall", "leaves turn", "trains roll",
         "birds sing", "rains come", "waves break", "roses bloom", "candles burn", "clocks stop",
         "shadows grow", "fires fade", "tides turn", "flags fly", "doors close", "dogs bark",
         "crowds cheer", "sirens wail")
END3 = ("think of you", "dream of you", "pray for you", "wait for you", "reach for you",
        "sing for you", "call your name", "long for you", "cry for you", "look for you",
        "ask for you", "whisper your name")
MEMORY3 = ("song we sang", "promise we broke", "mile we drove", "word we said", "road we took",
           "tear we cried", "dollar we spent", "prayer we prayed", "letter we wrote",
           "secret we kept", "bridge we burned", "dream we chased", "bottle we shared",
           "ticket we bought", "vow we made", "fire we lit", "wish we made",
           "lie we told", "kiss we stole", "dance we danced")
IMP = ("hold", "meet", "find", "leave", "take", "follow", "kiss", "carry", "bury", "hide",
       "catch", "lead")
HOLDER = ("pocket", "hand", "coat", "apron", "bag", "glovebox", "boot", "fist")


Slot = Sequence[str]
Element = Union[str, Slot]

# Each template: a tuple of fixed text (str) and slots (tuples of entries).
TEMPLATES: tuple[tuple[Element, ...], ...] = (
    ("I", MOTION, PREP, "the", ADJ, PLACE, TIME2),                             # 8
    (SUBJ, MOTION, PREP, "the", ADJ, PLACE, ADV),                              # 7
    ("Your", BODY, "is a", ADJ_C, THING, "in the", ADJ, PLACE),                # 10
    ("I still", ("hear", "feel", "see", "keep", "carry", "miss", "remember", "taste",
                 "chase", "follow", "find", "need"), "your", BODY, PREP, "the", ADJ, PLACE),  # 8
    ("We were", STATE_A, "and", STATE_B, "under the", ADJ, SKY, TIME2),        # 10
    ("Somewhere a", ADJ_C, CREATURE, "is", VING, PREP, "the", PLACE),          # 9
    ("Oh", NAME_C, "the", PLACE, "is", ADJ, "without you", TIME2),             # 10
    ("Don't let the", ADJ, NOUN_PL, VERB_INF, "your", BODY, ADV_T),            # 9
    (SUBJ, LEFT, "a", ADJ_C, THING, "on the", ADJ, PLACE),                     # 9
    ("The", ADJ, PLACE, "remembers every", MEMORY3, TIME2),                    # 10
    ("When the", ADJ, PAIR2, "over the", PLACE, "I", END3),                    # 12
    (IMP, "me", PREP, "the", ADJ, PLACE),                                      # 6
    (SUBJ, MOTION, ADV, TIME2),                                                # 5
    ("I", MOTION, PREP, "the", PLACE, "with a", ADJ_C, THING, "in my", HOLDER, ADV),  # 13
    ("Oh", NAME_C, "I", MOTION, PREP, "the", ADJ, PLACE, "just to hear your", BODY, ADV_T),  # 14
)
# fmt: on

_MASK64 = (1 << 64) - 1
_MIX = 0x9E3779B97F4A7C15


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def _tokens(entry: str) -> list[str]:
    return entry.split(" ")


class _Template:
    """A compiled template: format string, slot lists, positional token sets."""

    __slots__ = ("fmt", "slots", "radices", "capacity", "positions")

    def __init__(self, spec: tuple[Element, ...]):
        pieces: list[str] = []
        slots: list[tuple[str, ...]] = []
        positions: list[frozenset[str]] = []
        for el in spec:
            if isinstance(el, str):
                toks = _tokens(el)
                if any(not t for t in toks):
                    raise ValueError(f"bad fixed text {el!r}")
                if not positions:
                    toks[0] = _cap(toks[0])
                positions.extend(frozenset((t,)) for t in toks)
                pieces.append(" ".join(toks).replace("{", "{{").replace("}", "}}"))
            else:
                entries = tuple(el)
                if not entries:
                    raise ValueError("empty slot")
                if not positions:  # the line starts with this slot
                    entries = tuple(_cap(e) for e in entries)
                if len(set(entries)) != len(entries):
                    raise ValueError(f"repeated entries in slot {entries[:3]}...")
                widths = {len(_tokens(e)) for e in entries}
                if len(widths) != 1 or any(not t for e in entries for t in _tokens(e)):
                    raise ValueError(f"slot entries must all have the same token count: {entries}")
                width = widths.pop()
                for j in range(width):
                    positions.append(frozenset(_tokens(e)[j] for e in entries))
                slots.append(entries)
                pieces.append("{}")
        self.fmt = " ".join(pieces)
        self.slots = tuple(slots)
        self.radices = tuple(len(s) for s in slots)
        self.capacity = math.prod(self.radices)
        self.positions = tuple(positions)
        if not MIN_WORDS <= len(positions) <= MAX_WORDS:
            raise ValueError(f"template {self.fmt!r} has {len(positions)} words")
        if not all(t[:1].isalpha() for t in positions[0]):
            raise ValueError(f"template {self.fmt!r} may not start with a letter")


def _check_templates(templates: Sequence[_Template]) -> None:
    """Raise unless no two templates can render the same line."""
    for i, a in enumerate(templates):
        for b in templates[i + 1 :]:
            if len(a.positions) != len(b.positions):
                continue
            if all(pa & pb for pa, pb in zip(a.positions, b.positions)):
                raise ValueError(f"templates may collide: {a.fmt!r} / {b.fmt!r}")


_COMPILED = tuple(_Template(spec) for spec in TEMPLATES)
_check_templates(_COMPILED)


def capacity() -> int:
    """How many distinct lines ``synthetic_lines`` can produce for any seed."""
    return sum(t.capacity for t in _COMPILED)


class _SplitMix64:
    def __init__(self, seed: int):
        self.state = seed & _MASK64

    def next(self) -> int:
        self.state = (self.state + _MIX) & _MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n  # bias is irrelevant here

    def shuffled(self, items: Sequence[str]) -> tuple[str, ...]:
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = self.below(i + 1)
            out[i], out[j] = out[j], out[i]
        return tuple(out)


def _seeded(seed: int):
    """Per-seed state: shuffled slot lists, affine maps, digit salts, template order."""
    rng = _SplitMix64(0x5EED_0F_1F1C5 ^ (seed * 0x2545F4914F6CDD1D))
    per_template = []
    for t in _COMPILED:
        lists = tuple(rng.shuffled(s) for s in t.slots)
        c = t.capacity
        a = 1
        if c > 2:
            while True:
                a = 1 + rng.below(c - 1)
                if math.gcd(a, c) == 1:
                    break
        b = rng.below(c)
        salts = tuple(rng.next() for _ in t.slots)
        per_template.append((t.fmt, lists, t.radices, c, a, b, salts))
    order = list(range(len(_COMPILED)))
    for i in range(len(order) - 1, 0, -1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    round_salt = rng.next()
    return per_template, order, round_salt


def synthetic_lines(n: int, seed: int = 0) -> Iterator[str]:
    """Yield ``n`` distinct lyric-like lines (5-14 words each), deterministically per seed."""
    if n < 0:
        raise ValueError("n must be >= 0")
    total = capacity()
    if n > total:
        raise ValueError(f"n={n} exceeds the generator's capacity of {total} distinct lines")
    if n == 0:
        return
    per_template, order, round_salt = _seeded(seed)
    mix = _MIX

    # Deal lines to templates in rounds. A phase is a run of rounds in which the same
    # templates are still active; a template drops out when its capacity is used up.
    by_cap = sorted(order, key=lambda t: per_template[t][3])  # stable: ties keep seeded order
    active = list(order)
    used = 0  # how many k-values every active template has consumed so far
    produced = 0
    for t_end in by_cap:
        cap_end = per_template[t_end][3]
        rounds = cap_end - used
        if rounds > 0:
            m = len(active)
            procs = [per_template[t] for t in active]
            for k in range(used, cap_end):
                off = ((k * mix + round_salt) & _MASK64) >> 32
                for p in range(m):
                    fmt, lists, radices, c, a, b, salts = procs[(p + off) % m]
                    x = (a * k + b) % c
                    words = []
                    for j in range(len(radices) - 1, -1, -1):
                        r = radices[j]
                        x, d = divmod(x, r)
                        words.append(lists[j][(d + ((x * mix + salts[j]) >> 40)) % r])
                    words.reverse()
                    yield fmt.format(*words)
                    produced += 1
                    if produced == n:
                        return
            used = cap_end
        active.remove(t_end)


def write_synthetic_corpus(path: Union[str, os.PathLike], n: int, seed: int = 0, group_size: int = 12) -> None:
    """Write ``n`` synthetic lines as a .txt corpus, a ``# Song N`` title every ``group_size`` lines.

    Format: ``# Song 1``, then up to ``group_size`` lines, a blank line, ``# Song 2``, ...
    """
    if group_size < 1:
        raise ValueError("group_size must be >= 1")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        group: list[str] = []
        song = 0
        for line in synthetic_lines(n, seed):
            group.append(line)
            if len(group) == group_size:
                song += 1
                f.write(("\n" if song > 1 else "") + f"# Song {song}\n" + "\n".join(group) + "\n")
                group.clear()
        if group:
            song += 1
            f.write(("\n" if song > 1 else "") + f"# Song {song}\n" + "\n".join(group) + "\n")

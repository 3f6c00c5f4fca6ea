"""What a run searches with: probe texts (encoded by each retriever's own model as queries)
or stored rows (each row's own stored vector, or its text for keyword search)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Queries:
    """A query set, named by a digest of its contents so that two measures asking for the same
    texts or rows share one run."""

    kind: str  # "texts" or "rows"
    key: str
    texts: tuple[str, ...] = ()
    ids: tuple[int, ...] = ()

    @classmethod
    def of_texts(cls, texts: Sequence[str]) -> "Queries":
        texts = tuple(str(t) for t in texts)
        return cls("texts", _digest("\x1f".join(texts)), texts=texts)

    @classmethod
    def of_rows(cls, ids: Sequence[int] | np.ndarray) -> "Queries":
        ids = tuple(int(i) for i in ids)
        return cls("rows", _digest(",".join(map(str, ids))), ids=ids)

    def __len__(self) -> int:
        return len(self.texts) if self.kind == "texts" else len(self.ids)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()

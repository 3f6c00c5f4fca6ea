"""The floor of every comparison: an :class:`~harness.models.base.Embedder` that knows no
language. Each lowercased word is hashed (blake2b) to one of ``dimension`` coordinates with
a hashed sign (signed feature hashing, Weinberger et al. 2009); a text's vector is the sum
over its words, L2-normalised. Texts that share words are near, nothing else is.

It is an Embedder like any model, so it runs through the same code paths: ``--model
hashing`` ingests it into Milvus, and the query and the study use it as a baseline.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

from harness.models.base import Role
from harness.models.specs import ModelRef
from harness.records import ModelRecord, Truncation

HASHING = "hashing"
DIMENSION = 256
WORD = re.compile(r"\w+")


class HashingEmbedder:
    def __init__(self, ref: ModelRef | None = None, dimension: int = DIMENSION):
        self.ref = ref or ModelRef(HASHING, HASHING, None, None)
        self.dimension = dimension
        self.fingerprint = hashlib.sha256(f"{HASHING}:v1:{dimension}".encode()).hexdigest()[:16]
        self.device = "cpu"
        self.load_seconds = 0.0
        self.parameters = 0
        self.max_seq_length: int | None = None
        self._buckets: dict[str, tuple[int, float]] = {}

    @property
    def alias(self) -> str:
        return self.ref.alias

    @property
    def cache_key(self) -> str:
        return self.fingerprint

    def _bucket(self, word: str) -> tuple[int, float]:
        found = self._buckets.get(word)
        if found is None:
            value = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "big")
            found = (value % self.dimension, 1.0 if (value >> 63) & 1 else -1.0)
            self._buckets[word] = found
        return found

    def encode(self, texts: Sequence[str], batch_size: int = 64, role: Role = "document") -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                column, sign = self._bucket(word)
                out[row, column] += sign
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1)

    def truncation(self, texts: Sequence[str]) -> Truncation:
        return Truncation(len(texts))  # every word counts: nothing is cut

    def describe(self) -> ModelRecord:
        return ModelRecord(
            alias=self.alias,
            spec=self.ref.spec,
            source=self.ref.source,
            fingerprint=self.fingerprint,
            dimension=self.dimension,
            parameters=0,
            max_seq_length=None,
            similarity_fn_name="cosine",
            normalized=True,
        )

    def close(self) -> None:
        pass

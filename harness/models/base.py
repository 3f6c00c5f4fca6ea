"""The seam every pipeline encodes through: an :class:`Embedder` turns texts into vectors.

Pipelines depend on this protocol only; :mod:`harness.models.sentence` implements it with
sentence-transformers, :class:`WrappedEmbedder` is the base of the wrappers (the embedding
cache, a model kept loaded across steps), and the tests have a deterministic fake.
"""

from __future__ import annotations

from typing import Literal, Protocol, Sequence, runtime_checkable

import numpy as np

from harness.models.specs import ModelRef
from harness.records import ModelRecord, Truncation

Role = Literal["query", "document"]


@runtime_checkable
class Embedder(Protocol):
    @property
    def ref(self) -> ModelRef: ...

    @property
    def dimension(self) -> int: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def device(self) -> str: ...

    @property
    def load_seconds(self) -> float: ...

    @property
    def parameters(self) -> int: ...

    @property
    def max_seq_length(self) -> int | None: ...

    @property
    def alias(self) -> str: ...

    @property
    def cache_key(self) -> str:
        """What the vectors depend on (weights, variant, precision, normalisation): the embedding
        cache's key; the cache adds the prompt of the role encoded."""
        ...

    def encode(self, texts: Sequence[str], batch_size: int = 64, role: Role = "document") -> np.ndarray:
        """float32 (n, dimension) vectors; probes are encoded as queries, corpus lines as documents."""
        ...

    def truncation(self, texts: Sequence[str]) -> Truncation:
        """How many of these documents are longer than the model's maximum sequence length,
        and how much of them is cut off (tokens counted by the model's own tokenizer)."""
        ...

    def describe(self) -> ModelRecord: ...

    def close(self) -> None: ...


class WrappedEmbedder:
    """An :class:`Embedder` that hands everything to ``inner``; a wrapper overrides what it changes."""

    def __init__(self, inner: Embedder):
        self.inner = inner

    @property
    def ref(self) -> ModelRef:
        return self.inner.ref

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def device(self) -> str:
        return self.inner.device

    @property
    def load_seconds(self) -> float:
        return self.inner.load_seconds

    @property
    def parameters(self) -> int:
        return self.inner.parameters

    @property
    def max_seq_length(self) -> int | None:
        return self.inner.max_seq_length

    @property
    def alias(self) -> str:
        return self.inner.alias

    @property
    def cache_key(self) -> str:
        return self.inner.cache_key

    def encode(self, texts: Sequence[str], batch_size: int = 64, role: Role = "document") -> np.ndarray:
        return self.inner.encode(texts, batch_size=batch_size, role=role)

    def truncation(self, texts: Sequence[str]) -> Truncation:
        return self.inner.truncation(texts)

    def describe(self) -> ModelRecord:
        return self.inner.describe()

    def close(self) -> None:
        self.inner.close()

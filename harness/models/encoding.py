"""How a model's texts become stored vectors: the prompt for each role, the similarity the
model was trained for, normalisation and truncation. Pure numpy: shared by every backend.

Probes are encoded as queries and corpus lines as documents, with the prompts the model
declares (sentence-transformers' ``encode_query`` / ``encode_document``), or the user's.
Collections are searched by L2: for a cosine model the vectors are normalised, so L2
ranks equal cosine ranks; a dot-product model keeps its vectors and is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from harness.models.base import Role

# sentence-transformers 6.2 always holds "query" and "document" keys (empty by default),
# so its encode_document finds the empty "document" before a model's "passage" or
# "corpus" prompt: the first non-empty name wins here instead. The search_* names are
# nomic's, which encode_query / encode_document ignore.
QUERY_PROMPT_NAMES = ("query", "search_query")
DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus", "search_document")


def resolve_prompts(
    prompts: Mapping[str, str] | None, query: str | None = None, document: str | None = None
) -> tuple[str, str]:
    """The (query, document) prompt texts: the user's where given, else the model's."""
    prompts = {k: v for k, v in (prompts or {}).items() if isinstance(v, str)}

    def first(names: tuple[str, ...]) -> str:
        return next((prompts[n] for n in names if prompts.get(n)), "")

    return (query if query is not None else first(QUERY_PROMPT_NAMES)), (
        document if document is not None else first(DOCUMENT_PROMPT_NAMES)
    )


@dataclass(frozen=True)
class Encoding:
    """What turns a model's raw output into the vectors the harness stores and searches."""

    query_prompt: str = ""
    document_prompt: str = ""
    similarity: str = "cosine"  # the model's similarity_fn_name
    normalize: bool = True  # unit vectors out (the model normalises, or its similarity is cosine)
    self_normalized: bool = True  # the model's own pipeline ends in a Normalize module
    truncate: int | None = None  # Matryoshka: keep the first N dimensions
    max_length: int | None = None  # tokens read per text, where the user changed the model's own limit

    def prompt(self, role: Role) -> str:
        return self.query_prompt if role == "query" else self.document_prompt

    def finish(self, vectors: np.ndarray) -> np.ndarray:
        """float32, truncated, then renormalised: truncating a unit vector shortens it."""
        out = np.asarray(vectors, dtype=np.float32)
        if self.truncate:
            out = out[:, : self.truncate]
        if self.normalize and len(out):
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = (out / np.where(norms > 0, norms, 1)).astype(np.float32)
        return np.ascontiguousarray(out, dtype=np.float32)

    @property
    def key_suffix(self) -> str:
        """Part of the embedding cache key: vectors the harness normalises differ from the model's raw
        ones, and a text read to another length gives another vector."""
        unit = "-unit" if self.normalize and not self.self_normalized else ""
        return unit + (f"-len{self.max_length}" if self.max_length else "")


def encoding_for(
    similarity: str | None,
    self_normalized: bool,
    prompts: Mapping[str, str] | None,
    query_prompt: str | None = None,
    document_prompt: str | None = None,
    truncate: int | None = None,
) -> Encoding:
    similarity = similarity or "cosine"
    query, document = resolve_prompts(prompts, query_prompt, document_prompt)
    return Encoding(
        query_prompt=query,
        document_prompt=document,
        similarity=similarity,
        normalize=self_normalized or similarity == "cosine",
        self_normalized=self_normalized,
        truncate=truncate,
    )


def similarity_note(alias: str, similarity: str | None, normalized: bool | None) -> str | None:
    """Plain words when L2 search does not rank as the model's own similarity does."""
    if normalized or similarity in (None, "", "cosine", "euclidean"):
        return None
    return (
        f"{alias} scores by {similarity} similarity on vectors that are not normalised: Milvus L2 search ranks "
        f"differently from the model's own similarity, so its results are not the ones the model would rank first"
    )

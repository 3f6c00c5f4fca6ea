"""Searching a collection with another model's probe vectors: the dimension check, a map
into the collection's space, and how far the two spaces agree on the stored lines."""

from __future__ import annotations

import numpy as np

from harness.errors import ModelError
from harness.maps import MapFile
from harness.metrics.spaces import cross_model_warning, same_text_cosine, space_alignment
from harness.models import Embedder
from harness.records import CollectionMeta
from harness.store import VectorStore

ALIGNMENT_SAMPLE = 500


def probe_vectors(
    store: VectorStore,
    name: str,
    meta: CollectionMeta,
    embedder: Embedder,
    vectors: np.ndarray,
    space_map: MapFile | None,
) -> np.ndarray:
    """The probe vectors to search this collection with: mapped into its space when a map is
    given (refused unless fitted for this probe model and this collection's model)."""
    dimension = store.describe(name).dimension
    if space_map is None:
        if dimension != embedder.dimension:
            raise ModelError(
                f"probe model {embedder.ref.spec} makes {embedder.dimension}-dimensional vectors, "
                f"but collection {name} holds {dimension}-dimensional vectors (model {meta.model.alias})"
            )
        return vectors
    space_map.check_target(name, meta.model.alias, meta.model.fingerprint, dimension)
    return space_map.apply(vectors)


def cross_model_note(alignment: dict, space_map: MapFile | None) -> str | None:
    """The plain-words alignment note; with a map, judged on the map's held-out figures (rows
    it was never fitted on), since the sampled stored lines may include its training rows."""
    if space_map is None:
        return cross_model_warning(alignment)
    heldout = space_map.header.heldout
    if "same_text_cosine" not in heldout or "self_retrieval_at_1" not in heldout:
        return cross_model_warning(alignment)
    warning = cross_model_warning(heldout)
    return f"with {space_map.label} (held-out figures): {warning}" if warning else None


def cross_model_alignment(
    store: VectorStore,
    name: str,
    embedder: Embedder,
    batch_size: int = 64,
    sample: int = ALIGNMENT_SAMPLE,
    transform: MapFile | None = None,
) -> dict:
    """How well a probe model's vectors fit a collection built by another model.

    Mutual kNN and CKA compare the two spaces' shapes; both are blind to a rotation, so
    they cannot tell whether one model's vectors land near the other's. The same-text
    cosine and self-retrieval (does the probe model's vector of a stored line find that
    line?) measure exactly that.
    """
    first = next(store.rows(name, vectors=True, batch_size=max(1, sample)), None)
    if first is None:
        return {"rows": 0}
    ids, texts, stored = first.ids.tolist(), first.texts, first.vectors
    assert stored is not None
    if len(ids) < 2:
        return {"rows": len(ids)}
    probed = embedder.encode(texts, batch_size, role="document")
    if transform is not None:
        probed = transform.apply(probed)
    figures = {"rows": len(ids), **space_alignment(probed, stored, k=min(10, len(ids) - 1))}
    figures["same_text_cosine"] = same_text_cosine(probed, stored)
    checked = min(len(ids), 100)
    found = store.search(name, probed[:checked], 1)
    figures["self_retrieval_at_1"] = float(np.mean([bool(h) and h[0].id == i for h, i in zip(found, ids[:checked])]))
    return figures

"""Maps from a new model's embedding space into an old collection's, and the map file.

A map is fitted on paired vectors of the same rows (``x``: the new model B, ``y``: the
old model A) and applied to B's query vectors before searching A's collection. Four kinds:

- ``procrustes``: the orthogonal matrix R minimising ||(x - mx) R s - (y - my)|| (Schoenemann
  1966): R = U Vt from the SVD of xc' yc; optional centring and scaling (s = trace(S) / ||xc||²).
  Same dimension only.
- ``ridge``: the affine map minimising ||xc W - yc||² + alpha ||W||²; alpha is chosen on the
  training rows alone by the closed-form leave-one-out error (Golub, Heath, Wahba 1979) unless
  given. Any two dimensions.
- ``low-rank``: reduced-rank ridge: the ridge W projected onto the top-r right singular
  vectors of its fitted values (Izenman 1975), stored as two factors (d_b x r, r x d_a).
- ``mlp``: the ridge map plus a residual two-layer ReLU network fitted to what the ridge map
  leaves (last layer initialised at zero, so training starts from the ridge fit), trained with
  AdamW on the mean squared error, as Drift-Adapter's residual MLP (Vejendla 2025). torch fits
  it, seeded, on the CPU.

Applying any map is numpy only (:mod:`harness.maps.kinds`). A map file is one ``.npz``
holding the arrays and a JSON header string (:mod:`harness.maps.files`); ``numpy.load(path)``
reads it without pickle, so anyone can recompute a figure from it.
"""

from harness.maps.files import FORMAT, FORMAT_VERSION, MapFile, MapHeader, Space, load_map
from harness.maps.kinds import (
    KINDS,
    MAP_KINDS,
    LowRankMap,
    MapError,
    ProcrustesMap,
    ResidualMLPMap,
    RidgeMap,
    SpaceMap,
    fit_map,
    loo_errors,
    ridge,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "MAP_KINDS",
    "LowRankMap",
    "MapError",
    "MapFile",
    "MapHeader",
    "ProcrustesMap",
    "ResidualMLPMap",
    "RidgeMap",
    "Space",
    "SpaceMap",
    "fit_map",
    "load_map",
    "loo_errors",
    "ridge",
]

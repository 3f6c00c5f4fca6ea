"""The four map kinds, fitted on paired rows (``x``: the new model B, ``y``: the old model A)
and applied with numpy alone. See :mod:`harness.maps` for what each kind is."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from harness.errors import HarnessError

MAP_KINDS = ("procrustes", "ridge", "low-rank", "mlp")
LOW_RANK_DEFAULT = 64
ALPHA_GRID = tuple(float(a) for a in np.logspace(-8, 2, 11))  # times the mean squared singular value


class MapError(HarnessError):
    pass


class SpaceMap:
    """A fitted map: its arrays and the parameters it was fitted with."""

    kind: ClassVar[str]

    def __init__(self, arrays: dict[str, np.ndarray], params: dict | None = None):
        self.arrays = {name: np.asarray(value, dtype=np.float32) for name, value in arrays.items()}
        self.params = dict(params or {})

    @property
    def in_dim(self) -> int:
        raise NotImplementedError

    @property
    def out_dim(self) -> int:
        raise NotImplementedError

    def apply(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise MapError(f"{self.kind} map takes {self.in_dim}-dimensional vectors, got shape {x.shape}")
        return np.ascontiguousarray(self.apply(x), dtype=np.float32)


class ProcrustesMap(SpaceMap):
    kind = "procrustes"

    @property
    def in_dim(self) -> int:
        return self.arrays["rotation"].shape[0]

    @property
    def out_dim(self) -> int:
        return self.arrays["rotation"].shape[1]

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, center: bool = True, scale: bool = False) -> "ProcrustesMap":
        x, y = _pair(x, y)
        if x.shape[1] != y.shape[1]:
            raise MapError(
                f"procrustes needs the same dimension in both spaces (new model {x.shape[1]}-d, "
                f"old collection {y.shape[1]}-d): use ridge or low-rank"
            )
        mx = x.mean(axis=0) if center else np.zeros(x.shape[1])
        my = y.mean(axis=0) if center else np.zeros(y.shape[1])
        xc, yc = x - mx, y - my
        u, s, vt = np.linalg.svd(xc.T @ yc)
        factor = float(s.sum() / (xc**2).sum()) if scale and (xc**2).sum() > 0 else 1.0
        arrays = {"rotation": u @ vt, "source_mean": mx, "target_mean": my, "scale": np.array(factor)}
        return cls(arrays, {"center": center, "scale": scale})

    def apply(self, x: np.ndarray) -> np.ndarray:
        a = self.arrays
        return (x - a["source_mean"]) @ a["rotation"] * a["scale"] + a["target_mean"]


class RidgeMap(SpaceMap):
    kind = "ridge"

    @property
    def in_dim(self) -> int:
        return self.arrays["weight"].shape[0]

    @property
    def out_dim(self) -> int:
        return self.arrays["weight"].shape[1]

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, alpha: float | None = None) -> "RidgeMap":
        x, y = _pair(x, y)
        weight, bias, chosen = ridge(x, y, alpha)
        return cls({"weight": weight, "bias": bias}, {"alpha": chosen, "alpha_chosen_by": "given" if alpha else "loo"})

    def apply(self, x: np.ndarray) -> np.ndarray:
        return x @ self.arrays["weight"] + self.arrays["bias"]


class LowRankMap(SpaceMap):
    kind = "low-rank"

    @property
    def in_dim(self) -> int:
        return self.arrays["down"].shape[0]

    @property
    def out_dim(self) -> int:
        return self.arrays["up"].shape[1]

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, rank: int = LOW_RANK_DEFAULT, alpha: float | None = None):
        x, y = _pair(x, y)
        if rank < 1:
            raise MapError("the rank of a low-rank map must be at least 1")
        weight, _, chosen = ridge(x, y, alpha)
        mx, my = x.mean(axis=0), y.mean(axis=0)
        fitted = (x - mx) @ weight
        rank = min(rank, *weight.shape, len(x))
        _, _, vt = np.linalg.svd(fitted, full_matrices=False)
        basis = vt[:rank].T  # d_a x r
        down, up = weight @ basis, basis.T
        arrays = {"down": down, "up": up, "bias": my - mx @ down @ up}
        return cls(arrays, {"rank": rank, "alpha": chosen})

    def apply(self, x: np.ndarray) -> np.ndarray:
        return (x @ self.arrays["down"]) @ self.arrays["up"] + self.arrays["bias"]


class ResidualMLPMap(SpaceMap):
    kind = "mlp"

    @property
    def in_dim(self) -> int:
        return self.arrays["weight"].shape[0]

    @property
    def out_dim(self) -> int:
        return self.arrays["weight"].shape[1]

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        hidden: int = 128,
        steps: int = 200,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch: int = 256,
        seed: int = 0,
        alpha: float | None = None,
    ) -> "ResidualMLPMap":
        import torch

        x, y = _pair(x, y)
        weight, bias, chosen = ridge(x, y, alpha)
        # The ridge part stays fixed: the network learns only what it leaves, which keeps
        # training cheap (no d_b x d_a layer in the loop) and starts from the ridge fit.
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        xt = torch.tensor(x, dtype=torch.float32)
        rest = torch.tensor(y - (x @ weight + bias), dtype=torch.float32)
        inner = torch.nn.Linear(x.shape[1], hidden)
        outer = torch.nn.Linear(hidden, y.shape[1])
        with torch.no_grad():
            outer.weight.zero_()
            outer.bias.zero_()
        optimiser = torch.optim.AdamW([*inner.parameters(), *outer.parameters()], lr=lr, weight_decay=weight_decay)
        # Matrices this small train faster on one thread: 200 steps of 384-128-384 took 0.9 s
        # on one thread and 10.8 s on two busy cores.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for _ in range(steps):
                rows = torch.randperm(len(xt), generator=generator)[:batch]
                loss = torch.nn.functional.mse_loss(outer(torch.relu(inner(xt[rows]))), rest[rows])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        finally:
            torch.set_num_threads(threads)
        arrays = {
            "weight": weight,
            "bias": bias,
            "hidden_weight": inner.weight.detach().numpy().T,
            "hidden_bias": inner.bias.detach().numpy(),
            "out_weight": outer.weight.detach().numpy().T,
            "out_bias": outer.bias.detach().numpy(),
        }
        params = {"hidden": hidden, "steps": steps, "lr": lr, "weight_decay": weight_decay, "batch": batch}
        return cls(arrays, {**params, "seed": seed, "alpha": chosen})

    def apply(self, x: np.ndarray) -> np.ndarray:
        a = self.arrays
        hidden = np.maximum(x @ a["hidden_weight"] + a["hidden_bias"], 0.0)
        return x @ a["weight"] + a["bias"] + hidden @ a["out_weight"] + a["out_bias"]


KINDS: dict[str, type[SpaceMap]] = {m.kind: m for m in (ProcrustesMap, RidgeMap, LowRankMap, ResidualMLPMap)}


def fit_map(kind: str, x: np.ndarray, y: np.ndarray, seed: int = 0, **params: Any) -> SpaceMap:
    """Fit a map of this kind from rows ``x`` (new model) to the same rows ``y`` (old model)."""
    if kind not in KINDS:
        raise MapError(f"unknown map kind {kind!r} (known: {', '.join(MAP_KINDS)})")
    if kind == "mlp":
        params = {"seed": seed, **params}
    return KINDS[kind].fit(x, y, **params)  # type: ignore[attr-defined]


def ridge(x: np.ndarray, y: np.ndarray, alpha: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(weight, bias, alpha) of the ridge regression of y on x with an unpenalised intercept.

    With ``alpha`` None it is the one of ``ALPHA_GRID`` (times the mean squared singular value
    of the centred x) with the smallest leave-one-out error (:func:`loo_errors`), so it is
    chosen on the training rows alone.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    u, s, vt = np.linalg.svd(x - mx, full_matrices=False)
    uty = u.T @ (y - my)
    if alpha:
        chosen = float(alpha)
    else:
        scale = float(np.mean(s**2)) or 1.0
        candidates = [a * scale for a in ALPHA_GRID]
        errors = loo_errors(x, y, candidates)
        chosen = candidates[int(np.argmin(errors))]
    weight = vt.T @ ((s / (s**2 + chosen))[:, None] * uty)
    return weight, my - mx @ weight, chosen


def loo_errors(x: np.ndarray, y: np.ndarray, alphas: list[float]) -> list[float]:
    """Leave-one-out squared error of the ridge fit (intercept unpenalised) for each alpha, in
    closed form from one SVD of the centred x: the sum over rows of
    ||residual_i / (1 - h_i)||², h_i the hat matrix's diagonal, sum_j u_ij² s_j²/(s_j² + alpha)
    plus 1/n for the intercept (Golub, Heath and Wahba 1979)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    uty = u.T @ yc
    errors = []
    for alpha in alphas:
        shrink = s**2 / (s**2 + alpha)
        residual = yc - u @ (shrink[:, None] * uty)
        leverage = np.minimum((u**2) @ shrink + 1.0 / len(x), 1 - 1e-12)
        errors.append(float(((residual / (1 - leverage)[:, None]) ** 2).sum()))
    return errors


def _pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise MapError(f"a map is fitted on the same rows in both spaces: got shapes {x.shape} and {y.shape}")
    if len(x) < 2:
        raise MapError(f"a map needs at least 2 training rows, got {len(x)}")
    return x, y

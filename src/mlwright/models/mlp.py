"""Multi-layer perceptron for tabular data (PyTorch, CPU) — the ``nn`` extra.

Reads the one-hot style (scaled numbers, one-hot categories, sparse TF-IDF for text, fed to the
network in dense mini-batches).  Training: AdamW with a one-cycle learning rate, early stopping on
rows held out of the training fold (not the caller's validation rows, which stay honest out-of-fold
rows) with the best weights restored, and the trial deadline checked after every
epoch.  Weights are saved as a plain ``.npz`` of arrays (no pickle), rebuilt from the parameters
recorded in ``meta``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from optuna.distributions import CategoricalDistribution as C
from optuna.distributions import FloatDistribution as F
from optuna.distributions import IntDistribution as I

from mlwright.budget import Deadline
from mlwright.models import ModelFamily, register
from mlwright.models._common import ALL, predict_threads

TORCH_VERSION = "2.13.0"  # the extra pins it: later releases pull CUDA builds by default


def _dense(X, rows=None) -> np.ndarray:
    """Rows as a dense float32 block with heavy tails compressed: sign(z) * log1p(|z|), monotone."""
    part = X if rows is None else X[rows]
    if hasattr(part, "toarray"):
        part = part.toarray()
    z = np.nan_to_num(np.asarray(part, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return np.sign(z) * np.log1p(np.abs(z))


def _inner_split(X, y: np.ndarray, rng: np.random.Generator, fraction: float):
    """Hold out ``fraction`` of the rows (at least 8, at most half) to choose the epoch on."""
    n = X.shape[0]
    k = min(max(8, round(n * fraction)), n // 2)
    order = rng.permutation(n)
    stop, keep = np.sort(order[:k]), np.sort(order[k:])
    return X[keep], y[keep], X[stop], y[stop]


def _one_cycle(step: int, total: int, lr_max: float) -> float:
    """One-cycle rate: 10 % linear warm-up from lr_max/25, then cosine down to lr_max/10^4."""
    warm = max(1, int(0.1 * total))
    if step < warm:
        return lr_max * (0.04 + 0.96 * step / warm)
    frac = min(1.0, (step - warm) / max(1, total - warm))
    return lr_max * (1e-4 + (1 - 1e-4) * 0.5 * (1 + math.cos(math.pi * frac)))


def _net(n_in: int, n_out: int, width: int, layers: int, dropout: float):
    from torch import nn

    blocks: list[Any] = []
    d = n_in
    for _ in range(layers):
        blocks += [nn.Linear(d, width), nn.SiLU(), nn.Dropout(dropout)]
        d = width
    blocks.append(nn.Linear(d, n_out))
    return nn.Sequential(*blocks)


class MLPModel:
    def __init__(self, task, params, n_classes, seed, n_jobs, metric):
        self.task, self.params, self.n_classes = task, dict(params), n_classes
        self.seed, self.n_jobs = seed, n_jobs
        self.net = None
        self.n_in = 0
        self.y_mean, self.y_std = 0.0, 1.0
        self.epochs = 0
        self.best_epoch = 0

    @property
    def n_out(self) -> int:
        return 1 if self.task == "regression" else self.n_classes

    def build_net(self):
        p = self.params
        return _net(
            self.n_in, self.n_out, int(p.get("width", 256)), int(p.get("layers", 2)), float(p.get("dropout", 0.1))
        )

    def _loss_fn(self):
        from torch import nn

        return nn.MSELoss() if self.task == "regression" else nn.CrossEntropyLoss()

    def _target(self, y):
        import torch

        if self.task == "regression":
            return torch.as_tensor((np.asarray(y, float) - self.y_mean) / self.y_std, dtype=torch.float32)[:, None]
        return torch.as_tensor(np.asarray(y), dtype=torch.long)

    def fit(self, X, y, X_val=None, y_val=None, deadline: Deadline | None = None):
        import torch

        torch.manual_seed(self.seed)
        torch.set_num_threads(max(1, self.n_jobs))
        rng = np.random.default_rng(self.seed)
        p = self.params
        self.n_in = X.shape[1]
        if X_val is not None:
            # Stop on rows of our own, not on the caller's validation rows: choosing the epoch on the
            # rows the out-of-fold predictions are made for makes those predictions look better than
            # they are, and the ensemble then over-weights the network.
            X, y, X_val, y_val = _inner_split(X, np.asarray(y), rng, float(p.get("stop_fraction", 0.15)))
        if self.task == "regression":
            self.y_mean, self.y_std = float(np.mean(y)), float(np.std(y) or 1.0)
        net = self.build_net()
        n = X.shape[0]
        batch = int(min(p.get("batch_size", 256), max(16, n // 8)))
        # refits (no validation rows) get the folds' best epoch count as n_estimators, like the boosters
        max_epochs = int(p.get("n_estimators") or p.get("max_epochs", 60))
        lr_max = float(p.get("lr", 1e-3))
        opt = torch.optim.AdamW(net.parameters(), lr=lr_max, weight_decay=float(p.get("wd", 1e-4)))
        per_epoch_steps = max(1, n // batch)
        planned = max_epochs  # epochs the learning rate anneals over; fewer when the deadline allows fewer
        step = 0
        loss_fn = self._loss_fn()
        yt = self._target(y)
        yv = self._target(y_val) if X_val is not None else None
        best, best_state, bad, patience = np.inf, None, 0, int(p.get("patience", 8))
        for epoch in range(max_epochs):
            t0 = time.monotonic()
            net.train()
            for idx in np.array_split(rng.permutation(n), per_epoch_steps):
                for group in opt.param_groups:
                    group["lr"] = _one_cycle(step, planned * per_epoch_steps, lr_max)
                xb = torch.as_tensor(_dense(X, idx))
                opt.zero_grad()
                loss = loss_fn(net(xb), yt[idx])
                loss.backward()
                opt.step()
                step += 1
            self.epochs = epoch + 1
            if X_val is not None:
                net.eval()
                v = float(loss_fn(torch.as_tensor(self._forward(X_val, net)), yv))
                if v < best - 1e-6:
                    best, bad, self.best_epoch = v, 0, epoch + 1
                    best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
                else:
                    bad += 1
                    if bad >= patience:
                        break
            per_epoch = time.monotonic() - t0  # the latest epoch: the first carries torch's warm-up
            if deadline is not None:
                if deadline.left() < per_epoch:
                    break
                # anneal within the epochs the deadline leaves: a net cut off at its peak rate is poor
                planned = min(planned, epoch + 1 + max(1, int(deadline.left() / per_epoch)))
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self.net = net
        return self

    def _forward(self, X, net=None) -> np.ndarray:
        """Network outputs in row blocks of at most ~16M dense values (wide sparse text stays cheap)."""
        import torch

        net = net if net is not None else self.net
        if predict_threads(0):
            torch.set_num_threads(predict_threads(0))
        step = max(64, (1 << 24) // max(1, X.shape[1]))
        out = []
        with torch.no_grad():
            for start in range(0, X.shape[0], step):
                out.append(net(torch.as_tensor(_dense(X[start : start + step]))).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.n_out), np.float32)

    def predict_raw(self, X) -> np.ndarray:
        z = self._forward(X)
        if self.task == "regression":
            return z[:, 0].astype(float) * self.y_std + self.y_mean
        z = z.astype(float)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_fast(self, X) -> np.ndarray:
        """Small batches: the same network on the same arrays."""
        return self.predict_raw(X)

    def nbytes(self) -> int:
        return int(sum(t.numel() * t.element_size() for t in self.net.state_dict().values())) if self.net else 0

    def meta(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "n_in": self.n_in,
            "y_mean": self.y_mean,
            "y_std": self.y_std,
            "epochs": self.epochs,
            "best_iteration": self.best_epoch or self.epochs,
        }

    def save(self, directory: Path, stem: str) -> list[str]:
        name = f"{stem}.mlp.npz"
        arrays = {k: t.detach().numpy() for k, t in self.net.state_dict().items()}
        with open(Path(directory) / name, "wb") as f:
            np.savez(f, **arrays)
        return [name]


def _make(task, params, n_classes, seed, n_jobs, metric):
    return MLPModel(task, params, n_classes, seed, n_jobs, metric)


def _load(directory, stem, meta, task, n_classes):
    import torch

    m = MLPModel(task, meta.get("params", {}), n_classes, 0, 1, "")
    m.n_in, m.y_mean, m.y_std = int(meta["n_in"]), float(meta["y_mean"]), float(meta["y_std"])
    m.epochs = int(meta.get("epochs", 0))
    m.best_epoch = int(meta.get("best_iteration", 0))
    net = m.build_net()
    with np.load(Path(directory) / f"{stem}.mlp.npz", allow_pickle=False) as z:
        net.load_state_dict({k: torch.as_tensor(z[k]) for k in z.files})
    net.eval()
    m.net = net
    return m


MLP = register(
    ModelFamily(
        key="mlp",
        name="Neural network (MLP, PyTorch)",
        tasks=ALL,
        style="onehot",
        make=_make,
        load=_load,
        space={
            "lr": F(3e-4, 1e-2, log=True),
            "width": C([128, 256, 512]),
            "layers": I(1, 4),
            "dropout": F(0.0, 0.4),
            "wd": F(1e-6, 1e-2, log=True),
        },
        start={"lr": 3e-3, "width": 256, "layers": 2, "dropout": 0.1, "wd": 1e-4},
        portfolio=[{"lr": 3e-3, "width": 256, "layers": 2, "dropout": 0.1, "wd": 1e-4}],
        cost=lambda n, d: 2.0 + n * (d + 256) * 4e-6,
        requires="torch",
        refit=False,  # without validation rows to stop on, a refit net drifts from the folds' nets
        # Opt-in (families=[..., "mlp"]): on the dev suite at 60 s it took ensemble weight on most tables
        # yet scored worse on test data in 5 of 6 (see the performance issue's note), and importing
        # torch alone costs ~190 MB of memory.
        default=False,
        install_hint=f"pip install 'mlwright[nn]' (torch=={TORCH_VERSION}, CPU)",
        priority=55,
    )
)

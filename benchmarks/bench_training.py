"""Training throughput: ``train_network`` vs a plain ``keras.Model.fit`` (run on demand).

Both train the same Table I network on the same random data with the same optimizer and
loss; each timed call builds a fresh model, so both include their one-off tracing.
``train_network`` also shuffles by (seed, epoch), reseeds dropout and writes a checkpoint
every epoch. It enables TF op determinism, which cannot be switched off within a
process, so the plain fit is timed before it (free) and again alongside it (deterministic).

    python benchmarks/bench_training.py --dataset mnist --n 4096 --epochs 2 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import keras
import numpy as np

from cw_distillation.datasets import DATASETS
from cw_distillation.models import build_model
from cw_distillation.train import (
    TemperatureCrossEntropy,
    make_optimizer,
    one_hot,
    train_network,
)


def plain_fit(dataset: str, x: np.ndarray, y: np.ndarray, epochs: int, batch: int,
              temperature: float) -> float:
    """Seconds for build + compile + ``model.fit`` (Keras's own shuffling, no checkpoints)."""
    t0 = time.perf_counter()
    model = build_model(dataset, seed=0)
    model.compile(optimizer=make_optimizer(), loss=TemperatureCrossEntropy(temperature),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
    model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0)
    return time.perf_counter() - t0


def ours(dataset: str, x: np.ndarray, y: np.ndarray, epochs: int, batch: int,
         temperature: float, progress: bool) -> float:
    """Seconds for build + ``train_network`` with a checkpoint after every epoch."""
    with tempfile.TemporaryDirectory() as ckpt:
        t0 = time.perf_counter()
        model = build_model(dataset, seed=0)
        train_network(model, x, y, temperature=temperature, epochs=epochs, seed=0,
                      checkpoint_dir=ckpt, batch_size=batch, progress=progress,
                      log=lambda _: None)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist", choices=["mnist", "cifar10"])
    ap.add_argument("--n", type=int, default=4096, help="number of random images")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--temperature", type=float, default=100.0)
    ap.add_argument("--progress", action="store_true", help="time train_network with its bar")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    shape = DATASETS[args.dataset].shape
    x = rng.uniform(-0.5, 0.5, (args.n, *shape)).astype(np.float32)
    y = one_hot(rng.integers(0, 10, args.n))
    samples = args.n * args.epochs
    run = (args.dataset, x, y, args.epochs, args.batch_size, args.temperature)

    free = [plain_fit(*run) for _ in range(args.repeats)]
    mine, det = [], []
    for _ in range(args.repeats):  # interleaved, so that load changes hit both alike
        mine.append(ours(*run, progress=args.progress))
        det.append(plain_fit(*run))

    print(f"{args.dataset}: {args.n} images x {args.epochs} epochs, batch {args.batch_size}, "
          f"{args.repeats} repeats (median; samples/s)")
    rows = [("keras fit, default ops", free), ("keras fit, deterministic ops", det),
            ("train_network (+checkpoints)", mine)]
    for name, secs in rows:
        med = statistics.median(secs)
        print(f"  {name:30s} {samples / med:9.1f}   ({', '.join(f'{s:.2f}' for s in secs)} s)")
    ratio_det = statistics.median(det) / statistics.median(mine)
    ratio_free = statistics.median(free) / statistics.median(mine)
    print(f"  ratio train_network / fit: {ratio_det:.3f} (deterministic ops), "
          f"{ratio_free:.3f} (default ops)")


if __name__ == "__main__":
    main()

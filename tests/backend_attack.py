"""C&W L2 on a saved network under whichever Keras backend KERAS_BACKEND names: the half of
tests/test_backends.py that must run in its own process (Keras picks its backend at import).

    KERAS_BACKEND=jax python tests/backend_attack.py model.keras pairs.npz out.npz
"""

from __future__ import annotations

import sys

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import keras
import numpy as np

from cw_distillation.attacks import cw_l2

SETTINGS = {"binary_search_steps": 6, "max_iterations": 300, "initial_const": 0.1, "batch_size": 9}


def main(model_path: str, pairs_path: str, out_path: str) -> None:
    model = keras.models.load_model(model_path, compile=False)
    pairs = np.load(pairs_path)
    result = cw_l2.attack(model, pairs["x"], pairs["target"], **SETTINGS)
    logits = keras.ops.convert_to_numpy(model(pairs["x"]))
    np.savez(out_path, l2=result.l2, success=result.success, logits=logits,
             backend=np.array(keras.backend.backend()))


if __name__ == "__main__":
    main(*sys.argv[1:])

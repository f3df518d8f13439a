"""Which device a step runs on, said once at its start and recorded in its manifests.

TensorFlow falls back to the CPU without a word when it finds no usable GPU (and its own
warning is hidden by TF_CPP_MIN_LOG_LEVEL=3), and by default it takes all of a GPU's
memory per process, so jobs sharing a GPU fail. Steps that run a network call ``setup``
first: memory growth on every GPU (TensorFlow), one log line naming the device, and a loud warning when
a GPU was asked for (CW_WANT_GPU=1, set by ``make replicate GPU=1``) and none is visible.

On a GPU both TensorFlow and JAX multiply float32 matrices in TF32 by default (a 10-bit
mantissa), which meets the distilled networks' logits, ~100x the standard ones': ``setup`` asks
for full float32 products on either backend and records the setting (CW_MATMUL_PRECISION), which
every manifest carries and without which the store refuses a GPU result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

log = logging.getLogger("cw_distillation")

WANT_GPU = "CW_WANT_GPU"
PRECISION = "CW_MATMUL_PRECISION"


def setup() -> str:
    """Prepare the backend's GPUs and report the device; returns "GPU:0 (<name>)" or "CPU"."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    names = _jax_gpus() if backend == "jax" else _tensorflow_gpus()
    os.environ[PRECISION] = _full_float32(backend)
    device = f"GPU:0 ({names[0]})" if names else "CPU"
    os.environ["CW_GPU_NAMES"] = ",".join(names)
    os.environ["CW_DEVICE"] = device
    log.info("running on %s (Keras backend %s)%s", device, backend,
             f" ({len(names)} GPUs visible)" if len(names) > 1 else "")
    if not names and os.environ.get(WANT_GPU) == "1":
        log.warning(
            "a GPU was asked for (%s=1) but %s sees none: this step runs on the CPU. "
            "Install the CUDA wheels (make replicate GPU=1 installs '.[gpu]' for TensorFlow; "
            "for JAX, jax[cuda12]) and check nvidia-smi",
            WANT_GPU, backend,
        )
    return device


def import_tensorflow():
    """TensorFlow, imported with the C++ start-up lines it prints before its log level applies
    (oneDNN, CUDA stubs, absl: 3-4 lines in every step's log) sent to /dev/null; CW_TF_STARTUP_LOG=1
    keeps them. A failed import still raises its Python error."""
    if "tensorflow" in sys.modules or os.environ.get("CW_TF_STARTUP_LOG") == "1":
        import tensorflow as tf

        return tf
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return tf


def _full_float32(backend: str) -> str:
    """Turn TF32 off for float32 matrix products (a no-op on a CPU); the setting, as recorded."""
    if backend == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
        return "jax_default_matmul_precision=highest"
    tf = import_tensorflow()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    return "tensor_float_32_execution=off"


def _tensorflow_gpus() -> list[str]:
    """Memory growth on every GPU (TensorFlow takes all of a GPU's memory otherwise); their names."""
    tf = import_tensorflow()

    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        # RuntimeError: already initialised in this process, so growth can no longer change
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
        names.append(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name))
    return names


def _jax_gpus() -> list[str]:
    """The names of JAX's GPUs (JAX preallocates 75% of a GPU's memory: XLA_PYTHON_CLIENT_PREALLOCATE=false
    shares one between jobs)."""
    import jax

    return [d.device_kind for d in jax.devices() if d.platform == "gpu"]

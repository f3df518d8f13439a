"""Which device a step runs on, said once at its start and recorded in its manifests.

TensorFlow falls back to the CPU without a word when it finds no usable GPU (and its own
warning is hidden by TF_CPP_MIN_LOG_LEVEL=3), and by default it takes all of a GPU's
memory per process, so jobs sharing a GPU fail. Steps that run TensorFlow call ``setup``
first: memory growth on every GPU, one log line naming the device, and a loud warning when
a GPU was asked for (CW_WANT_GPU=1, set by ``make replicate GPU=1``) and none is visible.
"""

from __future__ import annotations

import contextlib
import logging
import os

log = logging.getLogger("cw_distillation")

WANT_GPU = "CW_WANT_GPU"


def setup() -> str:
    """Prepare TensorFlow's GPUs and report the device; returns "GPU:0 (<name>)" or "CPU"."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        device = f"{os.environ['KERAS_BACKEND']} backend (device not inspected)"
        os.environ["CW_DEVICE"] = device
        return device
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    names = []
    for gpu in gpus:
        # RuntimeError: already initialised in this process, so growth can no longer change
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
        names.append(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name))
    device = f"GPU:0 ({names[0]})" if names else "CPU"
    os.environ["CW_GPU_NAMES"] = ",".join(names)
    os.environ["CW_DEVICE"] = device
    log.info("running on %s%s", device, f" ({len(names)} GPUs visible)" if len(names) > 1 else "")
    if not names and os.environ.get(WANT_GPU) == "1":
        log.warning(
            "a GPU was asked for (%s=1) but TensorFlow sees none: this step runs on the CPU. "
            "Install the CUDA wheels (make replicate GPU=1 installs '.[gpu]') and check nvidia-smi",
            WANT_GPU,
        )
    return device

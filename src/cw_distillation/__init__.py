"""Replication of Carlini & Wagner (S&P 2017), Section VIII: evaluating defensive distillation."""

import os

# Before any submodule imports Keras: the backend we ship and test, and no C++ log noise
# (on a machine without a GPU TensorFlow logs a misleading "CUDA error"); both can be overridden.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

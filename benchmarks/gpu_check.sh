#!/usr/bin/env bash
# The prepared GPU check (docs/backends.md). On a machine with JAX and a GPU, no TensorFlow and
# no network, from the repository root, with .gpu_check/ (the network and images) and .whl/
# (Keras and what it needs that such a machine lacks) carried beside the working tree:
#
#   bash benchmarks/gpu_check.sh            # about 8 minutes at most (GPU_CHECK_BUDGET_S, default 420)
#   bash benchmarks/gpu_check.sh --dry      # the same at tiny sizes, on any machine (tests/test_gpu_check.py)
#
# Here, before: make gpu-check-inputs (writes .gpu_check/ and .whl/).
set -euo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu_check_site .whl/*.whl
    export PYTHONPATH="/tmp/gpu_check_site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" KERAS_BACKEND="${KERAS_BACKEND:-jax}" PYTHONUNBUFFERED=1
PY="${GPU_CHECK_PYTHON:-python3}"
"$PY" -c 'import jax; print("jax", jax.__version__, jax.devices())'
exec "$PY" benchmarks/gpu_check.py run --inputs "${GPU_CHECK_INPUTS:-.gpu_check}" \
    --out "${OUT:-gpu_check_out}" --budget-s "${GPU_CHECK_BUDGET_S:-420}" "$@"

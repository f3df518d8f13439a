#!/usr/bin/env bash
# Issue 33's long runs on a CPU, in the order of docs/measurements/issue33_plan.md, one after another;
# each resumes from its checkpoint (results/, or store/<profile>/inflight/ on a fresh machine), so the
# queue spans sessions: start it again in each one. Before a session ends: make save-inflight for the
# running profile, and commit its store.
#
#     nice -n 19 scripts/issue33_queue.sh &> issue33_queue.log &
#
# DATA_MIRROR (default ../shared/datasets): the offline copy of the official dataset files.
set -u
cd "$(dirname "$0")/.."
mirror=${DATA_MIRROR:-../shared/datasets}

# A replicate already running here (started by hand) finishes first: two runs on one profile collide.
while pgrep -f "make replicate .*PROFILE=" >/dev/null; do sleep 60; done

step() {
    echo "== $* ($(date -u +%FT%TZ))"
    nice -n 19 make replicate DATA_MIRROR="$mirror" "$@" || { echo "== failed: $*"; exit 1; }
}

step PROFILE=mnist50 TARGET=figures                                          # mnist50's REPORT.md
step PROFILE=cifar50 TARGET=results/cifar50/models/cifar10/distilled_T100.keras  # 4c: teacher, student
step PROFILE=cifar50 TARGET=results/cifar50/models/cifar10/standard.keras

# 4b's second half (C&W L0 with REDUCE_CONST) is answered on all 45 pairs (docs/measurements/issue33_4b.md).

step PROFILE=cifar50 TARGET=network_tables                                   # 4c: accuracy, logit sizes
# Table VI's C&W rows first (the paper's claim on the distilled network), then the rest.
a=results/cifar50/attacks/cifar10/distilled_T100
step PROFILE=cifar50 TARGET="$a/l2.json $a/linf.json $a/l0.json"
step PROFILE=cifar50 TARGET=figures                                          # cifar50's attacks, REPORT.md
echo "== done ($(date -u +%FT%TZ))"

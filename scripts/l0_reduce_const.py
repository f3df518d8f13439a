#!/usr/bin/env python3
"""Issue 33, experiment 4b: does the released code's REDUCE_CONST close the gap between our C&W L0
average / worst cases and the paper's (Table IV, reference_results.yaml: table_iv_undistilled)?

Reruns C&W L0 with ``reduce_const=True`` on the first N images of a stored L0 result (every
target), and prints best / average (mean over targets) / worst pixels beside the stored result's
on the same pairs (run with the option off). Writes the numbers as JSON.

    python scripts/l0_reduce_const.py --stored store/mnist50/attacks/mnist/standard/l0.npz \\
        --model store/mnist50/models/mnist/standard.keras --data results/mnist50/data/mnist.npz \\
        --images 5 --out docs/measurements/l0_reduce_const.json \\
        --checkpoint results/mnist50/attacks/mnist/standard/.l0_reduce_const.checkpoint.npz

A checkpoint there travels with ``make save-inflight PROFILE=mnist50`` (it matches the attack
checkpoints' pattern) into store/mnist50/inflight/; the workflow does not restore it (no job of
its makes that file): copy it back to results/ by hand before resuming, and remove it from the
store once the run has finished.

A checkpoint whose in-flight pairs cannot resume (the two whose float32 c underflowed to 0
before cw_l0.halve_const) is finished with ``--restart-in-flight``: its finished pairs are kept,
the others attacked again from the start.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from cw_distillation.attacks import cw_l0
from cw_distillation.attacks.result import AttackResult, distances
from cw_distillation.checkpoint import Checkpoint, fingerprint
from cw_distillation.data.prepare import load_dataset
from cw_distillation.datasets import NAMES
from cw_distillation.files import sha256_file
from cw_distillation.models import load_model


def cases(result: AttackResult) -> dict[str, float]:
    """Best / average (mean over each image's targets) / worst L0 over images, failures left out."""
    per_image = [result.l0[result.image_index == i] for i in np.unique(result.image_index)]
    return {
        "best": float(np.mean([np.nanmin(d) for d in per_image])),
        "average": float(np.mean([np.nanmean(d) for d in per_image])),
        "worst": float(np.mean([np.nanmax(d) for d in per_image])),
        "success": float(np.mean(result.success)),
    }


def subset(result: AttackResult, rows: np.ndarray) -> AttackResult:
    return AttackResult(**{k: getattr(result, k)[rows] for k in AttackResult.ARRAYS}, meta=result.meta)


def read_state(ckpt: Checkpoint | None, option: str) -> dict[str, np.ndarray]:
    """The checkpoint's arrays, only read: a wrong option leaves another run's checkpoint as it is."""
    state = ckpt.load(discard=False) if ckpt is not None else None
    if state is None:
        raise SystemExit(f"{option}: no checkpoint of this run (give --checkpoint and the run's options; a "
                         "checkpoint of other options is left as it is)")
    return state


def with_examples(off: AttackResult, model, x: np.ndarray, x_adv: np.ndarray, meta: dict,
                  **arrays: np.ndarray) -> AttackResult:
    """``off``'s pairs with the examples x_adv (option on): their L0 (NaN where the target is not
    reached, as in every AttackResult) and success, and any other arrays given."""
    success = np.argmax(model.predict(x_adv, verbose=0), axis=1) == off.target
    l0 = np.where(success, distances(x, x_adv)[0], np.nan)
    return AttackResult(**{**{k: getattr(off, k) for k in AttackResult.ARRAYS}, "x_adv": x_adv, "l0": l0,
                           "success": success, **arrays}, meta=meta)


def write(summary: dict, out: Path | None) -> None:
    print(json.dumps(summary, indent=1))
    if out:
        out.write_text(json.dumps(summary, indent=1) + "\n")


def summarize(ckpt: Checkpoint | None, off: AttackResult, x: np.ndarray, model, images: np.ndarray,
              out: Path | None) -> None:
    """The comparison on a checkpoint's pairs, for a run that has not finished (or cannot)."""
    state = read_state(ckpt, "--summarize-checkpoint")
    x_adv, in_flight = state["out/x_adv"].copy(), state["pair"]
    x_adv[in_flight] = state["dev/x_best"]  # each in-flight pair's last successful round
    on = with_examples(off, model, x, x_adv, off.meta)
    l0 = on.l0
    done = np.arange(len(l0)) < int(state["next_pair"])  # started ...
    done[in_flight] = False  # ... and finished
    summary = {
        "images": images.tolist(), "pairs": len(l0), "finished": int(done.sum()),
        "in_flight": {"pairs": in_flight.tolist(), "l0_so_far": l0[in_flight].tolist(),
                      "l0_reduce_const_off": off.l0[in_flight].tolist(), "c": state["dev/c"].tolist()},
        "reduce_const_off": cases(off), "reduce_const_on_in_flight_at_last_success": cases(on),
        "finished_pairs": {"reduce_const_off": cases(subset(off, done)), "reduce_const_on": cases(subset(on, done)),
                           "mean_l0_on_minus_off": float(np.nanmean(l0[done] - off.l0[done])),
                           "on_smaller": int((l0[done] < off.l0[done]).sum()),
                           "on_larger": int((l0[done] > off.l0[done]).sum()),
                           "adam_steps_per_pair_on": float(state["out/iterations"][done].mean()),
                           "adam_steps_per_pair_off": float(off.iterations[done].mean())},
        "seconds_so_far": float(state["seconds"].sum()),
    }
    write(summary, out)


def comparison(off: AttackResult, on: AttackResult) -> dict:
    """The stored result (option off) beside the rerun (option on), on the same pairs."""
    return {
        "reduce_const_off": cases(off), "reduce_const_on": cases(on),
        "mean_l0_on_minus_off": float(np.nanmean(on.l0 - off.l0)),
        "on_smaller": int((on.l0 < off.l0).sum()), "on_larger": int((on.l0 > off.l0).sum()),
        "adam_steps_per_pair": {"off": float(off.iterations.mean()), "on": float(on.iterations.mean())},
    }


def restart_in_flight(ckpt: Checkpoint | None, off: AttackResult, x: np.ndarray, model, images: np.ndarray,
                      options: dict, batch_size: int, out: Path | None, sources: dict) -> None:
    """Finish a checkpointed run whose in-flight pairs cannot resume: keep its finished pairs, attack the
    in-flight ones again from the start, and those not started. For the two pairs whose float32 c
    underflowed to 0 before cw_l0.halve_const (a resumed pair would keep c = 0 and never end)."""
    state = read_state(ckpt, "--restart-in-flight")
    in_flight, queued = state["pair"], np.arange(int(state["next_pair"]), len(off.target))
    todo = np.concatenate([in_flight, queued])
    x_adv, iterations = state["out/x_adv"].copy(), state["out/iterations"].copy()
    before = distances(x[in_flight], state["dev/x_best"])[0]
    start = time.perf_counter()
    rerun = cw_l0.attack(model, x[todo], off.target[todo], label=off.label[todo],
                         image_index=off.image_index[todo], batch_size=batch_size, reduce_const=True, **options)
    x_adv[todo], iterations[todo] = rerun.x_adv, rerun.iterations
    on = with_examples(off, model, x, x_adv, {**off.meta, **rerun.meta}, iterations=iterations)
    l0 = on.l0
    summary = {
        **sources, "images": images.tolist(), "pairs": len(l0), "options": options,
        **comparison(off, on),
        "restarted_pairs": {
            "pairs": in_flight.tolist(), "why": "their float32 c had underflowed to 0 (fixed: cw_l0.halve_const)",
            "l0_at_last_success_before": before.tolist(), "l0": l0[in_flight].tolist(),
            "l0_reduce_const_off": off.l0[in_flight].tolist(),
            "adam_steps": rerun.iterations[: len(in_flight)].tolist()},
        "pairs_not_started_before": len(queued),
        "seconds": {"checkpointed_run": float(state["seconds"].sum()), "restart": time.perf_counter() - start},
    }
    write(summary, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stored", required=True, type=Path, help="a stored C&W L0 result (.npz), reduce_const off")
    parser.add_argument("--model", required=True, type=Path, help="the network it attacked (.keras)")
    parser.add_argument("--data", required=True, type=Path, help="the prepared dataset (.npz)")
    parser.add_argument("--dataset", default="mnist", choices=NAMES)
    parser.add_argument("--images", type=int, default=5, help="the stored result's first N images")
    parser.add_argument("--batch-size", type=int, default=45)
    parser.add_argument("--out", type=Path, help="JSON of the comparison")
    parser.add_argument("--checkpoint", type=Path,
                        help="resume from / save the in-flight pairs here (every 5 min), so that a run spans sessions")
    parser.add_argument("--summarize-checkpoint", action="store_true",
                        help="attack nothing: compare the pairs --checkpoint holds (the finished ones, and each "
                        "in-flight pair's last success, an upper bound on its L0)")
    parser.add_argument("--restart-in-flight", action="store_true",
                        help="finish --checkpoint's run: keep its finished pairs, attack its in-flight ones again "
                        "from the start (pairs that cannot resume, as the two whose c underflowed to 0)")
    args = parser.parse_args()

    stored = AttackResult.load(args.stored)
    images = np.unique(stored.image_index)[: args.images]
    rows = np.isin(stored.image_index, images)
    off = subset(stored, rows)
    x = load_dataset(args.data)["x_test"][off.image_index]
    model = load_model(args.model, args.dataset)
    options = {k: stored.meta[k] for k in ("learning_rate", "max_iterations", "initial_const", "largest_const",
                                           "const_factor")}
    ckpt = None
    if args.checkpoint:  # the same fingerprint parts as the attack step's: settings, pairs, network
        ckpt = Checkpoint(args.checkpoint, fingerprint("l0_reduce_const", options, args.batch_size, x, off.label,
                                                       off.image_index, off.target, sha256_file(args.model)))
    if args.summarize_checkpoint:
        summarize(ckpt, off, x, model, images, args.out)
        return
    if args.restart_in_flight:
        restart_in_flight(ckpt, off, x, model, images, options, args.batch_size, args.out,
                          {"stored": str(args.stored), "model": str(args.model)})
        return
    start = time.perf_counter()
    on = cw_l0.attack(model, x, off.target, label=off.label, image_index=off.image_index,
                      batch_size=args.batch_size, reduce_const=True, checkpoint=ckpt, **options)
    seconds = time.perf_counter() - start
    summary = {
        "stored": str(args.stored), "model": str(args.model), "images": images.tolist(), "pairs": int(rows.sum()),
        "options": options, **comparison(off, on),
        "seconds_on_this_run": seconds,  # a resumed run: this process only
    }
    write(summary, args.out)


if __name__ == "__main__":
    main()

"""Pairs to attack and the paper's best / average / worst case summaries."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cw_distillation.attacks.result import AttackResult
from cw_distillation.evaluate import (
    all_targets,
    best_average_worst,
    precision,
    select_images,
    success_rate,
)


def test_select_images_takes_the_first_correct_ones_and_counts_the_skipped():
    y_true = np.array([0, 1, 2, 3, 4, 5])
    y_pred = np.array([0, 7, 2, 7, 4, 5])
    index, skipped = select_images(y_pred, y_true, 3)
    np.testing.assert_array_equal(index, [0, 2, 4])
    assert skipped == 2
    with pytest.raises(ValueError, match="fewer than"):
        select_images(y_pred, y_true, 5)


def test_select_images_of_several_networks_takes_those_every_one_gets_right():
    """Paired comparisons: the standard and the distilled network attack the same images."""
    y_true = np.array([0, 1, 2, 3, 4, 5])
    standard = np.array([0, 7, 2, 3, 4, 5])
    distilled = np.array([0, 1, 2, 7, 4, 5])
    index, skipped = select_images(np.stack([standard, distilled]), y_true, 3)
    np.testing.assert_array_equal(index, [0, 2, 4])
    assert skipped == 2
    np.testing.assert_array_equal(select_images(standard, y_true, 3)[0], [0, 2, 3])


def test_all_targets_gives_the_nine_wrong_labels_of_each_image():
    image, target = all_targets(np.array([3, 0]))
    assert len(image) == len(target) == 18
    np.testing.assert_array_equal(image, [0] * 9 + [1] * 9)
    np.testing.assert_array_equal(target[:9], [0, 1, 2, 4, 5, 6, 7, 8, 9])
    np.testing.assert_array_equal(target[9:], np.arange(1, 10))


def hand_made_result() -> AttackResult:
    """Image 0: every target works (L2 1, 2, 3); image 1: targets give 4, 5 and a failure;
    image 2: no target works."""
    success = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0], bool)
    l2 = np.where(success, [1.0, 2.0, 3.0, 4.0, 5.0, 0, 0, 0, 0], np.nan).astype(np.float32)
    n = len(success)
    return AttackResult(
        x_adv=np.zeros((n, 1, 1, 1), np.float32), success=success, l0=l2 * 10, l2=l2,
        linf=l2 / 10, iterations=np.ones(n, int), seconds=np.ones(n),
        image_index=np.repeat([7, 8, 9], 3), target=np.tile([1, 2, 3], 3),
        label=np.zeros(n, int),
    )


def test_best_and_worst_case_on_a_hand_made_result():
    summary = best_average_worst(hand_made_result(), rng_seed=0)
    best, worst = summary["l2"]["best"], summary["l2"]["worst"]
    assert best == {"mean": pytest.approx(2.5), "prob": pytest.approx(2 / 3), "n_images": 3}
    # Image 1 has a failed target, so only image 0 counts as a worst-case success.
    assert worst == {"mean": pytest.approx(3.0), "prob": pytest.approx(1 / 3), "n_images": 3}
    assert summary["l0"]["best"]["mean"] == pytest.approx(25.0)
    assert summary["linf"]["worst"]["mean"] == pytest.approx(0.3)


def test_average_case_draws_one_target_per_image_with_the_seed():
    result = hand_made_result()
    draws = [best_average_worst(result, rng_seed=s)["l2"]["average"] for s in range(40)]
    assert draws[0] == best_average_worst(result, rng_seed=0)["l2"]["average"]
    # Image 2 always fails and image 0 always succeeds: prob is 1/3 or 2/3.
    assert {round(d["prob"] * 3) for d in draws} == {1, 2}
    means = {round(d["mean"], 6) for d in draws}
    assert means <= {1.0, 2.0, 3.0, 2.5, 3.5, 4.0}  # image 0 alone, or with image 1
    assert len(means) > 2


def test_success_rate_is_over_pairs():
    assert success_rate(hand_made_result()) == pytest.approx(5 / 9)


def test_precision_averages_each_images_targets_and_brackets_every_case_mean():
    result = hand_made_result()
    spread = precision(result, rng_seed=0)
    # Image 0's targets average 2, image 1's successful ones 4.5; image 2 has none.
    assert spread["l2"]["over_targets"]["mean"] == pytest.approx(3.25)
    summary = best_average_worst(result, rng_seed=0)
    for case in ("best", "average", "worst"):
        lo, hi = spread["l2"][case]
        assert lo <= summary["l2"][case]["mean"] + 1e-9 and summary["l2"][case]["mean"] <= hi + 1e-9
    # Only image 0 succeeds in the worst case: every resample's mean is 3 (or has no success).
    assert spread["l2"]["worst"] == pytest.approx([3.0, 3.0])
    lo, hi = spread["l2"]["over_targets"]["ci"]
    assert lo == pytest.approx(2.0) and hi == pytest.approx(4.5)
    assert precision(result, rng_seed=0) == spread  # seeded


def test_precision_interval_narrows_with_more_images():
    rng = np.random.default_rng(0)

    def result(n_images: int) -> AttackResult:
        l2 = rng.gamma(4.0, 0.5, size=9 * n_images).astype(np.float32)
        n = len(l2)
        return AttackResult(
            x_adv=np.zeros((n, 1, 1, 1), np.float32), success=np.ones(n, bool), l0=l2, l2=l2, linf=l2,
            iterations=np.ones(n, int), seconds=np.ones(n), image_index=np.repeat(np.arange(n_images), 9),
            target=np.tile(np.arange(1, 10), n_images), label=np.zeros(n, int),
        )

    def width(r: AttackResult) -> float:
        lo, hi = precision(r, rng_seed=0)["l2"]["average"]
        return hi - lo

    assert width(result(400)) < width(result(10)) / 3


def test_summarize_prints_the_cases_and_their_intervals_of_a_stored_result(tmp_path, capsys):
    from cw_distillation.cli import main

    n = 18
    l2 = np.linspace(1.0, 3.0, n).astype(np.float32)
    AttackResult(
        x_adv=np.zeros((n, 1, 1, 1), np.float32), success=np.ones(n, bool), l0=l2, l2=l2, linf=l2,
        iterations=np.ones(n, int), seconds=np.ones(n), image_index=np.repeat([3, 5], 9),
        target=np.tile(np.arange(1, 10), 2), label=np.zeros(n, int),
    ).save(tmp_path / "r.npz")
    assert main(["summarize", str(tmp_path / "r.npz"), "--seed", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_images"] == 2 and out["n_pairs"] == n and out["success_rate"] == 1.0
    assert out["cases"]["l2"]["best"]["mean"] == pytest.approx((l2[0] + l2[9]) / 2)
    assert out["precision"]["l2"]["over_targets"]["mean"] == pytest.approx(l2.mean())


def test_l0_counts_a_pixel_as_changed_from_1e_4_as_the_released_l0_attack():
    from cw_distillation.attacks.result import distances

    x = np.zeros((1, 2, 2, 1), np.float32)
    x_adv = x.copy()
    x_adv[0, 0, 0, 0] = 5e-5  # nudged: the released code's equal_count calls this unchanged
    x_adv[0, 0, 1, 0] = 1e-4
    x_adv[0, 1, 1, 0] = 0.3
    assert distances(x, x_adv)[0][0] == 2
    assert distances(x, x_adv, l0_changed=1e-6)[0][0] == 3

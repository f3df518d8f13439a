"""Both readings of the paper's "mean value of the L1 norm of Z"."""

from __future__ import annotations

import numpy as np
import pytest

from cw_distillation.logits import closer_reading, logit_statistics, relative_error


def test_statistics_match_hand_computation() -> None:
    z = np.array([[1.0, -2.0, 3.0], [0.0, 0.0, -6.0]])
    stats = logit_statistics(z)
    # L1 norms per vector: 6 and 6; components |z|: 1 2 3 0 0 6 (mean 2, var 26/6)
    assert stats["n"] == 2
    assert stats["l1_norm_mean"] == pytest.approx(6.0)
    assert stats["l1_norm_std"] == pytest.approx(0.0)
    assert stats["abs_component_mean"] == pytest.approx(2.0)
    assert stats["abs_component_std"] == pytest.approx(np.sqrt(26 / 6))


def test_scaling_logits_by_t_scales_both_readings_by_t() -> None:
    z = np.random.default_rng(0).normal(size=(50, 10))
    a, b = logit_statistics(z), logit_statistics(100 * z)
    for key in ("l1_norm_mean", "l1_norm_std", "abs_component_mean", "abs_component_std"):
        assert b[key] == pytest.approx(100 * a[key])


def test_closer_reading_picks_the_matching_reading() -> None:
    z = np.array([[5.0, -5.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    stats = logit_statistics(z)  # l1 norms 10, 4 -> mean 7, std 3
    verdict = closer_reading(stats, reference_mean=7.0, reference_std=3.0)
    assert verdict["closer"] == "l1_norm"
    assert verdict["l1_norm"]["error"] == pytest.approx(0.0)
    verdict = closer_reading(stats, stats["abs_component_mean"], stats["abs_component_std"])
    assert verdict["closer"] == "abs_component"


def test_relative_error_is_relative_to_the_reference() -> None:
    assert relative_error(482 * 1.1, 482) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        relative_error(1.0, 0.0)


@pytest.mark.parametrize("shape", [(10,), (0, 10), (2, 3, 4)])
def test_logit_statistics_rejects_non_matrix_input(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="logits"):
        logit_statistics(np.zeros(shape))

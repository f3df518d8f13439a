"""Taking over an earlier result's pairs (steps.attacking --reuse): when the standard and the
distilled network come to be attacked on the same images, the pairs of images both image sets
share are taken from the stored result and only the others are attacked. Each pair's attack is
independent of the others, so the merged result is the one a fresh run gives."""

import cw_distillation.autodiff  # noqa: F401 (first: it sets KERAS_BACKEND)

# isort: split
import numpy as np
import pytest
from conftest import every_other_target

from cw_distillation.attacks import jsma
from cw_distillation.attacks.result import AttackResult
from cw_distillation.steps.attacking import _merge, _reused_rows


def run(model, x, y, images):
    xs, target, label = every_other_target(x[images], y[images])
    return jsma.attack(model, xs, target, label=label, image_index=np.repeat(images, 9), gamma=0.5)


def test_a_job_that_takes_over_another_image_sets_pairs_equals_a_fresh_run(toy, tmp_path):
    model, x, y = toy
    fresh = run(model, x, y, np.array([0, 1, 2]))
    earlier = run(model, x, y, np.array([1, 2, 3]))
    earlier.save(tmp_path / "earlier.npz")

    found, reused = _reused_rows(tmp_path / "earlier.npz", fresh.image_index, fresh.target, fresh.label)
    todo = found < 0
    np.testing.assert_array_equal(todo, np.repeat([True, False, False], 9))
    computed = run(model, x, y, np.array([0]))
    merged = _merge(reused, found, computed, todo)
    for name in AttackResult.ARRAYS:
        if name != "seconds":
            np.testing.assert_array_equal(getattr(merged, name), getattr(fresh, name), err_msg=name)


def test_an_earlier_result_whose_labels_disagree_is_refused(toy, tmp_path):
    model, x, y = toy
    earlier = run(model, x, y, np.array([0]))
    earlier.label = (earlier.label + 1) % 10
    earlier.save(tmp_path / "earlier.npz")
    with pytest.raises(ValueError, match="labels differ"):
        _reused_rows(tmp_path / "earlier.npz", earlier.image_index, earlier.target, (earlier.label + 9) % 10)

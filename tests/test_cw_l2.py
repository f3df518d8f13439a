"""The C&W L2 attack: optimal on linear models, valid examples, per-pair state."""

from __future__ import annotations

import cw_distillation.autodiff  # noqa: F401  (sets KERAS_BACKEND before keras loads)

# isort: split
import keras
import numpy as np
import pytest
import scipy.optimize

from cw_distillation.attacks import cw_batch, cw_l0, cw_l2, cw_linf

SHAPE = (4, 4, 1)


def linear_model(w: np.ndarray, b: np.ndarray, shape: tuple = SHAPE) -> keras.Model:
    """z = x.ravel() @ w + b: a network whose minimal adversarial distances are known."""
    model = keras.Sequential(
        [keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(w.shape[1])]
    )
    model.set_weights([w.astype(np.float32), b.astype(np.float32)])
    return model


def conv_model(seed: int = 0) -> keras.Model:
    """A tiny random convnet (6x6 grey inputs) for the checks that need no optimum. Its weights
    come from NumPy (Glorot-uniform scales), so that every Keras backend gets the same network."""
    model = keras.Sequential([
        keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(), keras.layers.Dense(10),
    ])
    rng = np.random.default_rng(seed)
    weights = []
    for w in model.get_weights():
        fan = np.prod(w.shape[:-1]) + w.shape[-1] if w.ndim > 1 else 0
        limit = np.sqrt(6 / fan) if fan else 0.0
        weights.append(rng.uniform(-limit, limit, w.shape).astype(np.float32))
    model.set_weights(weights)
    return model


def pairs_on(model: keras.Model, n_images: int, n_targets: int, seed: int = 0):
    """n_images random images (some pixels on the box edge) x n_targets wrong targets each."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, size=(n_images, *model.input_shape[1:])).astype(np.float32)
    x[:, 0, 0] = -0.5
    x[:, -1, -1] = 0.5
    pred = np.argmax(keras.ops.convert_to_numpy(model(x)), axis=1)
    image = np.repeat(np.arange(n_images), n_targets)
    target = (pred[image] + 1 + np.tile(np.arange(n_targets), n_images)) % 10
    return x[image], target


def one_competitor_problem(n: int, seed: int = 1):
    """Images of class 0 whose only competitor for target 1 is class 0, at L2 distances
    d (n,) spread over [0.15, 0.6]; every logit is negative (a z * (1 - onehot) bug would
    take 'other' = 0 and miss the optimum)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(16, 10))
    b = np.full(10, -150.0)
    b[:2] = -50.0
    a = w[:, 1] - w[:, 0]  # how the target gains on class 0, per pixel
    d = np.linspace(0.15, 0.6, n)
    x = rng.uniform(-0.1, 0.1, size=(n, 16))
    # Slide each image along -a until class 0 leads by d * ||a||_2.
    x -= ((x @ a + d * np.linalg.norm(a)) / (a @ a))[:, None] * a
    optimum = x + d[:, None] * a / np.linalg.norm(a)
    assert np.abs(optimum).max() < 0.45  # the box is not in the way
    return linear_model(w, b), x.reshape(n, *SHAPE).astype(np.float32), np.ones(n, int), d


@pytest.mark.backends
def test_l2_matches_closed_form_on_linear_model():
    model, x, target, d = one_competitor_problem(6)
    result = cw_l2.attack(model, x, target, max_iterations=1000)
    assert result.success.all()
    assert np.all(result.l2 >= d * (1 - 1e-3)), "closer than the optimum: wrong distance"
    np.testing.assert_allclose(result.l2, d, rtol=0.01)


@pytest.mark.backends
def test_l2_matches_polytope_optimum_with_several_competitors():
    rng = np.random.default_rng(2)
    w, b = rng.normal(size=(16, 10)), np.full(10, -100.0)
    b[:4] = [2.0, 0.0, 0.5, 0.5]  # classes 0, 2, 3 all compete with target 1
    x = rng.uniform(-0.15, 0.15, size=(3, 16))
    target = 1

    def optimum(x0: np.ndarray) -> float:
        """The exact minimal ||dx|| with the target winning, inside the box: a convex QP.

        trust-constr, not SLSQP: on some CPUs SLSQP stops at the optimum reporting failure
        ("Positive directional derivative for linesearch"), which made this reference flaky."""
        a = np.array([w[:, target] - w[:, j] for j in range(10) if j != target])
        c = np.array([b[target] - b[j] for j in range(10) if j != target])
        res = scipy.optimize.minimize(
            lambda dx: dx @ dx, np.zeros(16), jac=lambda dx: 2 * dx, hess=lambda dx: 2 * np.eye(16),
            constraints=[scipy.optimize.LinearConstraint(a, -c - a @ x0, np.inf)],
            bounds=scipy.optimize.Bounds(-0.5 - x0, 0.5 - x0), method="trust-constr",
            options={"gtol": 1e-12, "xtol": 1e-14, "maxiter": 5000},
        )
        assert res.success and (a @ (x0 + res.x) + c).min() > -1e-8
        return float(np.sqrt(res.fun))

    d = np.array([optimum(v) for v in x])
    model = linear_model(w, b)
    result = cw_l2.attack(model, x.reshape(3, *SHAPE).astype(np.float32), np.full(3, target),
                          max_iterations=1000)
    assert result.success.all()
    np.testing.assert_allclose(result.l2, d, rtol=0.01)


def test_binary_search_over_c_is_exponential_then_bisects():
    """c works from 0.05 on: 1e-3, 1e-2 fail, 0.1 works, then bisection closes in on 0.05."""
    c, lower, upper, tried = np.array([1e-3]), np.array([0.0]), np.array([1e10]), []
    for _ in range(12):
        tried.append(float(c[0]))
        c, lower, upper = (keras.ops.convert_to_numpy(v)
                           for v in cw_l2.next_const(c, lower, upper, c >= 0.05))
    np.testing.assert_allclose(tried[:5], [1e-3, 1e-2, 0.1, 0.055, 0.0325])
    # 9 halvings (to float32 precision: JAX computes in float32 what TensorFlow keeps in float64)
    assert lower[0] < 0.05 <= upper[0] and upper[0] - lower[0] <= 0.09 / 2**9 * (1 + 1e-5)


def test_a_long_search_still_finds_the_optimum():
    # >= 10 steps: the last one reruns the smallest c that worked (the reference's repeat).
    model, x, target, d = one_competitor_problem(2)
    result = cw_l2.attack(model, x, target, binary_search_steps=10, max_iterations=300)
    assert result.success.all()
    np.testing.assert_allclose(result.l2, d, rtol=0.01)


def test_confidence_per_pair_is_the_winning_margin():
    model, x, target, _ = one_competitor_problem(3)
    kappa = np.array([0.0, 2.0, 5.0])
    result = cw_l2.attack(model, x, target, confidence=kappa, max_iterations=500)
    z = keras.ops.convert_to_numpy(model(result.x_adv))
    margin = z[:, 1] - np.delete(z, 1, axis=1).max(axis=1)
    assert np.all(margin >= kappa - 1e-4)
    assert np.all(np.diff(result.l2) > 0), "a larger kappa needs a larger change"
    assert result.meta["confidence"] == kappa.tolist()


@pytest.mark.backends
def test_examples_are_in_the_box_and_success_is_the_argmax():
    model = conv_model()
    x, target = pairs_on(model, 2, 3)
    result = cw_l2.attack(model, x, target, max_iterations=200, binary_search_steps=5,
                          initial_const=0.1, batch_size=4)
    assert result.x_adv.min() >= -0.5 and result.x_adv.max() <= 0.5
    pred = np.argmax(keras.ops.convert_to_numpy(model(result.x_adv)), axis=1)
    np.testing.assert_array_equal(result.success, pred == target)
    assert result.success.mean() > 0.5
    assert np.isnan(result.l2[~result.success]).all()
    assert np.all(result.iterations > 0)


@pytest.mark.backends
def test_parked_rows_give_the_same_result_in_a_few_batch_sizes(monkeypatch):
    """JAX compiles once per batch size, so there finished rows are parked, not dropped: the
    result is the same, and the tail of a run sees a few batch sizes instead of one per pair."""
    model = conv_model(2)
    x, target = pairs_on(model, 4, 4, seed=3)
    settings = dict(max_iterations=60, binary_search_steps=3, initial_const=0.1, batch_size=16)
    sizes = {}
    real_compile = cw_batch.compile_loop

    def counting(one_step, example, n=cw_batch.STEPS_PER_CALL):
        compiled = real_compile(one_step, example, n)

        def call(s):
            sizes.setdefault(park, set()).add(int(s["ended"].shape[0]))
            return compiled(s)
        return call

    monkeypatch.setattr(cw_batch, "compile_loop", counting)
    out = {}
    for park in (False, True):
        monkeypatch.setattr(cw_batch.autodiff, "COMPILES_PER_BATCH_SIZE", park)
        out[park] = cw_l2.attack(model, x, target, **settings)
    np.testing.assert_array_equal(out[True].success, out[False].success)
    np.testing.assert_array_equal(out[True].iterations, out[False].iterations)
    np.testing.assert_allclose(out[True].l2, out[False].l2, rtol=1e-5)
    assert len(sizes[True]) <= 5 < len(sizes[False]), sizes


@pytest.mark.backends
def test_early_abort_is_per_pair_and_costs_no_distance():
    model = conv_model(1)
    x, target = pairs_on(model, 2, 2, seed=1)
    settings = dict(max_iterations=200, binary_search_steps=5, initial_const=0.1)
    batched = cw_l2.attack(model, x, target, batch_size=4, **settings)
    alone = cw_l2.attack(model, x, target, batch_size=1, **settings)
    full = cw_l2.attack(model, x, target, abort_early=False, batch_size=4, **settings)
    assert full.success.all() and batched.success.all()
    # Each pair's aborts depend on its own loss only: batching changes nothing.
    np.testing.assert_allclose(batched.l2, alone.l2, rtol=1e-3)
    np.testing.assert_array_equal(batched.iterations, alone.iterations)
    # Aborting trades a little distance for time; the loss must be small.
    assert np.all(batched.iterations < full.iterations)
    assert np.all(batched.l2 <= full.l2 * 1.03)


def test_image_scope_aborts_an_images_targets_together_on_their_summed_loss():
    model = conv_model(1)
    x, target = pairs_on(model, 2, 2, seed=1)  # 2 images x 2 targets, image-major
    image = np.array([7, 7, 9, 9])
    settings = dict(max_iterations=200, binary_search_steps=5, initial_const=0.1, image_index=image)
    batched = cw_l2.attack(model, x, target, batch_size=4, **settings)
    groups = cw_l2.attack(model, x, target, batch_size=2, **settings)
    assert batched.success.all() and batched.meta["abort_scope"] == "image"
    # the released rule: an image's targets stop each value of c together (lockstep) ...
    assert batched.iterations[0] == batched.iterations[1] and batched.iterations[2] == batched.iterations[3]
    # ... decided by their group alone, whatever else shares the batch
    np.testing.assert_array_equal(batched.iterations, groups.iterations)
    np.testing.assert_allclose(batched.l2, groups.l2, rtol=1e-5)
    with pytest.raises(ValueError, match="multiple"):
        cw_l2.attack(model, x, target, batch_size=3, **settings)
    with pytest.raises(ValueError, match="abort_scope"):
        cw_l2.attack(model, x, target, abort_scope="batch", **settings)


def test_l2_starts_from_the_released_codes_tanh_point():
    from cw_distillation.attacks import box

    # the released L2 starts at tanh(arctanh(2x * 0.999999))/2 = 0.999999 x; L0 and L-inf
    # at tanh(arctanh(1.999999 x))/2 = (1 - 5e-7) x (to float32 rounding near the edge)
    x = np.array([-0.5, -0.1, 0.0, 0.25, 0.5], np.float32)
    for eps, factor in ((box.EPS_L2, 0.999999), (box.EPS_L0_LINF, 1.999999 / 2)):
        start = keras.ops.convert_to_numpy(box.from_tanh_space(box.to_tanh_space(x, eps)))
        np.testing.assert_allclose(start, x.astype(np.float64) * factor, rtol=0, atol=6e-8)
    edge = keras.ops.convert_to_numpy(box.from_tanh_space(box.to_tanh_space(x, box.EPS_L2)))[-1]
    assert 0.5 - edge > 3e-7, "the L2 start sits 5e-7 inside the box edge, not 2.5e-7"


@pytest.mark.parametrize("attack", [cw_l2.attack, cw_l0.attack, cw_linf.attack])
@pytest.mark.parametrize("head", ["dense", "layer", "numbers"])
def test_a_model_that_outputs_probabilities_is_refused(attack, head):
    layers = [keras.Input(SHAPE), keras.layers.Flatten()]
    if head == "dense":
        layers.append(keras.layers.Dense(10, activation="softmax"))
    elif head == "layer":
        layers += [keras.layers.Dense(10), keras.layers.Softmax()]
    else:  # softmax hidden inside an anonymous layer: caught by the outputs themselves
        layers += [keras.layers.Dense(10), keras.layers.Lambda(keras.ops.softmax)]
    model = keras.Sequential(layers)
    with pytest.raises(ValueError, match="needs logits"):
        attack(model, np.zeros((2, *SHAPE), np.float32), np.array([1, 2]))

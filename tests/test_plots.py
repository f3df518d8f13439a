"""Every figure function writes a vector PDF and a PNG of the expected shape, from tiny fake data."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cw_distillation.outputs import plots
from cw_distillation.outputs.figures import STYLE
from cw_distillation.transfer import transfer_curve

LINE_ASPECT = STYLE["figure.figsize"][0] / STYLE["figure.figsize"][1]


def check_written(paths, aspect: float) -> np.ndarray:
    pdf, png = sorted(paths)
    assert pdf.suffix == ".pdf" and png.suffix == ".png"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    image = mpimg.imread(png)
    height, width = image.shape[:2]
    assert width / height == pytest.approx(aspect, rel=0.02)
    assert image.std() > 0  # not a blank canvas
    return image


def test_fig8_draws_distance_against_temperature(tmp_path):
    temps = [1, 10, 50, 100]
    paths = plots.fig8_distance_vs_temperature(temps, [2.0, 2.3, np.nan, 2.1], -0.04, tmp_path / "fig8")
    check_written(paths, LINE_ASPECT)
    paths = plots.fig8_distance_vs_temperature(
        temps, [2.0, 2.3, np.nan, 2.1], -0.04, tmp_path / "fig8b", rho_interval=(-0.6, 0.5)
    )
    check_written(paths, LINE_ASPECT)


def test_jsma_success_figure_with_and_without_intervals(tmp_path):
    temps, f, z = [1, 5, 100], np.array([0.9, 0.3, 0.0]), np.array([0.8, 0.7, 0.6])
    check_written(plots.jsma_success_vs_temperature(temps, {"jsma_f": f}, tmp_path / "a"), LINE_ASPECT)
    lo, hi = {"jsma_f": f - 0.05, "jsma_z": z - 0.1}, {"jsma_f": f + 0.05, "jsma_z": z + 0.1}
    paths = plots.jsma_success_vs_temperature(temps, {"jsma_f": f, "jsma_z": z}, tmp_path / "b", lo=lo, hi=hi)
    check_written(paths, LINE_ASPECT)
    # a temperature where a JSMA was not run (None) leaves a gap, not an error
    paths = plots.jsma_success_vs_temperature(temps, {"jsma_z": [0.5, None, 0.1]}, tmp_path / "c")
    check_written(paths, LINE_ASPECT)


@pytest.mark.parametrize("figure", [plots.fig9_transfer_standard, plots.fig10_transfer_distilled])
def test_transfer_figures_plot_both_rates_with_bands(tmp_path, figure):
    rng = np.random.default_rng(0)
    kappa = np.repeat([0.0, 10.0, 20.0, 40.0], 25)
    target, label = rng.integers(0, 10, 100), np.zeros(100, int)
    pred = np.where(rng.random(100) < kappa / 40, target, label)
    rows = transfer_curve(kappa, np.ones(100, bool), target, label, pred)
    check_written(figure(rows, tmp_path / "fig"), LINE_ASPECT)


@pytest.mark.parametrize(("channels", "names"), [(1, None), (3, [f"class{k}" for k in range(10)])])
def test_adversarial_grid_has_one_row_per_image_and_one_column_per_target(tmp_path, channels, names):
    rng = np.random.default_rng(1)
    n_img, size = 2, 8
    images = {
        "originals": rng.random((n_img, size, size, channels)) - 0.5,
        "adversarial": rng.random((n_img, 10, size, size, channels)) - 0.5,
        "labels": np.array([3, 7]),
        "success": rng.random((n_img, 10)) > 0.3,
        "class_names": names,
    }
    paths = plots.adversarial_examples(images, tmp_path / "grid")
    label_inches = 0.35 + 0.065 * max(len(n) for n in (names or ["0"]))
    check_written(paths, (10 * 0.62 + label_inches) / (n_img * 0.62 + 0.7))


def test_analysis_modules_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "import cw_distillation.outputs.plots, cw_distillation.outputs.attack_tables\n"
        "import cw_distillation.outputs.fragility_table, cw_distillation.outputs.temperature\n"
        "import cw_distillation.transfer\n"
        "assert not {'tensorflow', 'keras', 'snakemake'} & set(sys.modules), 'heavy import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def drawn(monkeypatch):
    """The figures a plotting function makes, kept open instead of saved (to inspect their artists)."""
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, base: figures.append(fig) or [])
    yield figures
    for fig in figures:
        plt.close(fig)


def transfer_rows(kappas: list[float], empty: float | None = None) -> list[dict]:
    """transfer_curve rows where every example transfers, and none at all at kappa ``empty``."""
    kappa = np.repeat(kappas, 20).astype(float)
    target, label = np.ones(len(kappa), int), np.zeros(len(kappa), int)
    success = kappa != empty
    return transfer_curve(kappa, success, target, label, pred=target)


def test_fig10_paper_marker_lies_inside_the_axes(drawn):
    plots.fig10_transfer_distilled(transfer_rows([0, 10, 20, 30, 40]), "unused")
    (fig,) = drawn
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (paper,) = [line for line in ax.lines if line.get_label().startswith("paper")]
    box, inside = paper.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert inside.y0 <= box.y0 and box.y1 <= inside.y1, (box, inside)
    assert inside.x0 <= box.x0 and box.x1 <= inside.x1, (box, inside)
    # the rate of 100% drawn by our series stays whole inside the axes too
    top = max(line.get_window_extent(renderer).y1 for line in ax.lines)
    assert top <= inside.y1


def test_no_source_example_is_shown_as_such_never_as_a_zero_rate(drawn):
    plots.fig10_transfer_distilled(transfer_rows([0, 10, 20, 30, 40], empty=40.0), "unused")
    (fig,) = drawn
    ax = fig.axes[0]
    for line in ax.lines:  # no point of any series at kappa 40
        x, y = (np.asarray(v, float) for v in line.get_data())
        assert not np.any((x == 40.0) & np.isfinite(y) & (line.get_label() != "paper: ≈100% by κ ≈ 40")), line
    # a column over the axes' whole height at kappa 40, named in the legend and on the plot
    spans = [p for p in ax.patches if p.get_hatch()]
    assert len(spans) == 1
    (x0, y0), (x1, y1) = spans[0].get_path().get_extents(spans[0].get_patch_transform()).get_points()
    assert x0 < 40.0 < x1 and (y0, y1) == (0.0, 1.0)  # y in axes fraction: the whole height
    assert plots.NO_EXAMPLES_LABEL in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "no example" in [t.get_text() for t in ax.texts]


def test_transfer_figure_without_an_empty_kappa_has_no_such_mark(drawn):
    plots.fig9_transfer_standard(transfer_rows([0, 10]), "unused")
    ax = drawn[0].axes[0]
    assert not [p for p in ax.patches if p.get_hatch()]
    assert plots.NO_EXAMPLES_LABEL not in [t.get_text() for t in ax.get_legend().get_texts()]


def test_fig8_shows_each_temperatures_interval_on_a_log_t_axis(drawn):
    temps, mean = [1, 2, 5, 10, 20, 50, 100], [2.0, 2.1, 2.1, 2.2, 2.2, 2.1, 2.2]
    lo, hi = [m - 0.1 for m in mean], [m + 0.3 for m in mean]
    lo[3] = hi[3] = None  # a temperature without an interval draws its point, no bar
    plots.fig8_distance_vs_temperature(temps, mean, 0.5, "unused", lo=lo, hi=hi, rho_interval=(-0.2, 0.8))
    ax = drawn[0].axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "5", "10", "20", "50", "100"]
    (bars,) = ax.collections  # the error bars: one vertical segment per temperature
    segments = bars.get_segments()
    assert len(segments) == len(temps)
    assert segments[0][:, 1] == pytest.approx([1.9, 2.3])
    assert segments[3][:, 1] == pytest.approx([2.2, 2.2])  # no interval: no extent
    assert ax.get_ylim()[1] >= max(h for h in hi if h is not None)


def test_fig8_claims_no_interval_where_the_table_has_none(drawn):
    plots.fig8_distance_vs_temperature([1, 100], [2.6, 2.8], 1.0, "unused", lo=[None, None], hi=[None, None])
    ax = drawn[0].axes[0]
    assert not ax.collections  # no error bars
    assert not [t for t in ax.get_legend().get_texts() if "interval" in t.get_text()]


def test_one_source_per_class_takes_the_first_attacked_image_of_each_class():
    # (image, label) pairs in the order attacked, 9 targets each: images 4 and 7 are both ships (8)
    images, labels = [4, 7, 9, 12, 15], [8, 8, 3, 1, 3]
    image_index, label = np.repeat(images, 9), np.repeat(labels, 9)
    assert plots.one_source_per_class(image_index, label).tolist() == [12, 9, 4]  # classes 1, 3, 8
    assert plots.one_source_per_class(image_index, label, n_sources=2).tolist() == [12, 9]
    shuffled = np.random.default_rng(0).permutation(len(image_index))
    assert plots.one_source_per_class(image_index[shuffled], label[shuffled]).tolist() == [12, 9, 4]


def test_adversarial_grid_names_the_classes_it_is_given(drawn):
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    images = {
        "originals": np.zeros((2, 4, 4, 3)),
        "adversarial": np.zeros((2, 10, 4, 4, 3)),
        "labels": np.array([3, 8]),
        "success": np.ones((2, 10), bool),
        "class_names": names,
    }
    plots.adversarial_examples(images, "unused")
    axes = np.array(drawn[0].axes).reshape(2, 10)
    assert [ax.get_title() for ax in axes[0]] == [f"→ {name}" for name in names]
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["cat", "ship"]


def test_security_curves_draw_one_panel_per_dataset_and_metric(tmp_path):
    from cw_distillation.outputs.plots import security_curves

    rows = [{"dataset": d, "network": n, "attack": a, "metric": m, "distance": x, "broken": x / 2, "pairs": 9}
            for d in ("mnist", "cifar10") for n in ("standard", "distilled")
            for a, m in (("l2", "l2"), ("l0", "l0")) for x in (0.0, 1.0, 2.0)]
    paths = security_curves(rows, tmp_path / "security")
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"] and all(p.stat().st_size > 0 for p in paths)


def test_robustness_curves_draw_one_panel_per_norm_standard_and_distilled(tmp_path):
    from cw_distillation.outputs.robustness_plots import robustness_curves

    rows = [{"dataset": "mnist", "network": n, "temperature": t, "norm": norm, "eps": e, "method": m,
             "robust_accuracy": 1 - e, "images": 4}
            for n, t in (("standard", 1.0), ("distilled_T100", 100.0)) for norm in ("linf", "l2")
            for m in ("fgs_ce", "apgd_dlr") for e in (0.0, 0.1, 0.3)]
    paths = robustness_curves(rows, tmp_path / "robustness")
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"] and all(p.stat().st_size > 0 for p in paths)

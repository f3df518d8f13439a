"""Every figure function writes a vector PDF and a PNG of the expected shape, from tiny fake data."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.image as mpimg
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

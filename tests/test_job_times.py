"""Job-time tables from Snakemake's benchmark files."""

import pytest

from cw_distillation.outputs.job_times import JOB_TIME_COLUMNS, job_kind, job_time_rows, read_benchmark

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(folder, name, seconds, rss=100.0):
    path = folder / f"{name}.tsv"
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{seconds / 2}\n")
    return path


@pytest.mark.parametrize(
    "name, kind",
    [
        ("attack_mnist_standard_l2", "attack"),
        ("attack_cifar10_distilled_T100_jsma_f_random", "attack"),
        ("train_mnist_init", "train_init"),
        ("train_mnist_teacher_T100", "train_teacher"),
        ("soft_labels_mnist_T100", "soft_labels"),
        ("transfer_examples_mnist", "transfer_examples"),
        ("odd", "odd"),
    ],
)
def test_job_kind_is_the_rule_part_of_the_name(name, kind):
    assert job_kind(name) == kind


def test_rows_group_jobs_by_kind_slowest_total_first(tmp_path):
    paths = [
        bench(tmp_path, "attack_mnist_standard_l2", 100.0, rss=900),
        bench(tmp_path, "attack_mnist_standard_fgs", 10.0),
        bench(tmp_path, "attack_mnist_standard_igs", 40.0),
        bench(tmp_path, "train_mnist_standard", 60.0),
    ]
    rows = job_time_rows(paths)
    assert [r["job_kind"] for r in rows] == ["attack", "train_standard"]
    attack = rows[0]
    assert attack["jobs"] == 3 and attack["median_s"] == 40.0 and attack["max_s"] == 100.0
    assert attack["total_s"] == 150.0 and attack["max_rss_mb"] == 900 and attack["slowest_job"].endswith("_l2")
    assert all(list(r) == JOB_TIME_COLUMNS for r in rows)


def test_a_file_that_is_not_a_benchmark_is_named(tmp_path):
    path = tmp_path / "attack_mnist_x.tsv"
    path.write_text("garbage\n")
    with pytest.raises(ValueError, match=r"attack_mnist_x\.tsv: not a Snakemake benchmark file"):
        read_benchmark(path)

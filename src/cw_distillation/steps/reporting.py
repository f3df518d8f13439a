"""Table and figure steps: read results, write paper_outputs/ (no training, no attack here)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cw_distillation import jobs
from cw_distillation.attacks import registry
from cw_distillation.datasets import DATASETS, NAMES
from cw_distillation.steps import add_step_options, publish, step_for


def table_accuracy(args: argparse.Namespace) -> int:
    from cw_distillation.outputs.model_tables import ACCURACY_COLUMNS, accuracy_rows
    from cw_distillation.outputs.tables import write_table

    models = [(jobs.identify(path, "model")["name"], json.loads(Path(path).read_text())) for path in args.metrics]
    rows = accuracy_rows(models)
    step = step_for(args, args.metrics, {"tables": "model_accuracy"})
    caption = (
        "Test accuracy at T = 1 of every network (paper: MNIST 99.5%, CIFAR-10 80% for the standard "
        "networks, trained 50 epochs on the full training set)."
    )
    publish(write_table(rows, ACCURACY_COLUMNS, args.out_base, caption=caption), step)
    return 0


def table_logits(args: argparse.Namespace) -> int:
    import numpy as np

    from cw_distillation.outputs.model_tables import LOGIT_COLUMNS, logit_rows
    from cw_distillation.outputs.tables import write_table

    rows = []
    for path in args.logits:
        with np.load(path, allow_pickle=False) as z:
            logits = z["logits"]
        job = jobs.identify(path, "logits")
        rows.append((job["dataset"], job["model"], logits))
    out = []
    for dataset in dict.fromkeys(d for d, _, _ in rows):
        models = {name: z for d, name, z in rows if d == dataset}
        out += logit_rows(dataset, models)
    step = step_for(args, args.logits, {"tables": "logit_norms"})
    caption = (
        "Size of the logits Z(x) on the test set, both readings of the paper's 'mean value of the L1 norm "
        "of Z': the L1 norm of each logit vector (l1_norm) and the absolute value of each component "
        "(abs_component). Paper (dataset not named; compared on MNIST): 5.8 +- 6.4 undistilled, "
        "482 +- 457 distilled at T = 100. closer_reading marks the reading nearer the paper's numbers."
    )
    publish(write_table(out, LOGIT_COLUMNS, args.out_base, caption=caption), step)
    return 0


# ----------------------------------------------------------------------------- attacks

# Our attack variant names (the workflow's {attack} wildcard) -> (attack, variant) of the fragility table.
FRAGILITY_KEYS = registry.variant_names()


def _dataset_and_attack(path: Path) -> tuple[str, str]:
    """An attack's result or summary -> (dataset, attack variant)."""
    job = jobs.identify(path, "attack")
    return job["dataset"], job["attack"]


def table_attacks(args: argparse.Namespace) -> int:
    from cw_distillation.files import write_text_atomic
    from cw_distillation.outputs import attack_tables
    from cw_distillation.outputs.tables import write_table

    summaries = {}
    for path in args.summaries:
        summary = json.loads(Path(path).read_text())
        summaries[_dataset_and_attack(Path(path))] = attack_tables.summary_cases(summary)
    datasets = tuple(dict.fromkeys(d for d, _ in summaries))
    rows = attack_tables.attack_rows(summaries, table=args.table, datasets=datasets)
    if args.table == "iv":
        caption = (
            "Table IV: attacks on the standard (undistilled) networks; per case the mean distance over "
            "successful images and the success probability, ours beside the paper's."
        )
    else:
        caption = (
            "Table VI: attacks on the defensively distilled networks (T = main temperature); the paper: "
            "our L0, L2, L-infinity succeed 100%, all previous attacks fail."
        )
    caption += (
        " images: how many images a row rests on (the profile may attack fewer with an expensive attack:"
        " attacks.max_images)."
    )
    step = step_for(args, args.summaries, {"table": args.table})
    paths = write_table(
        rows, attack_tables.attack_columns(datasets), args.out_base, caption=caption, formats=("csv", "tex")
    )
    markdown = Path(f"{args.out_base}.md")
    write_text_atomic(markdown, attack_tables.markdown_by_dataset(rows, datasets, caption))
    publish([*paths, markdown], step)
    return 0


def table_statistics(args: argparse.Namespace) -> int:
    """The intervals the report judges Tables IV and VI by (outputs/attack_statistics.py)."""
    from cw_distillation.outputs import attack_statistics, rules
    from cw_distillation.outputs.tables import write_table

    checked = rules.load()  # a broken rules file stops here, before any table is written
    results, metrics = _attack_results(args.results)
    bounds = {(d, m): checked.bound(d, m) for d, _, _ in results for m in rules.METRICS}
    untargeted = frozenset(a for a in metrics if registry.variant_names().get(a, (a, None))[0] in registry.UNTARGETED)
    rows = attack_statistics.statistic_rows(results, metrics, bounds, untargeted)
    caption = (
        "The intervals REPORT.md judges by: per attack and network, the mean distance of each case over images "
        "(average case = each image's mean over all its targets) with a 95% bootstrap interval over images, the "
        "success rates with exact binomial intervals (a success past the success bound of "
        "src/cw_distillation/verdict_rules.yaml counts as a failure; beyond_bound counts those), and the "
        "distilled / standard distance ratio on the (image, target) pairs attacked on both (paired bootstrap)."
    )
    step = step_for(args, args.results, {"table": "attack_statistics"})
    publish(write_table(rows, attack_statistics.STATISTIC_COLUMNS, args.out_base, caption=caption), step)
    return 0


def _attack_results(paths) -> tuple[dict, dict]:
    """(dataset, network, attack) -> AttackResult and attack -> metric, for attack results
    (network: standard, or distilled)."""
    from cw_distillation.attacks.result import AttackResult

    results, metrics = {}, {}
    for path in map(Path, paths):
        job = jobs.identify(path, "attack")
        network = "standard" if job["model"] == "standard" else "distilled"
        table_attack = registry.variant_names().get(job["attack"], (job["attack"], None))[0]
        results[(job["dataset"], network, job["attack"])] = AttackResult.load(path)
        metrics[job["attack"]] = registry.METRIC[table_attack]
    return results, metrics


def table_security(args: argparse.Namespace) -> int:
    """Security curves from the stored results: pairs broken within d, against d (issue 35)."""
    from cw_distillation.outputs import security_curves
    from cw_distillation.outputs.tables import write_table

    results, metrics = _attack_results(args.results)
    rows = security_curves.curve_rows(results, metrics)
    caption = ("Security curves: per dataset, network and attack, the fraction of (image, target) pairs the "
               "attack broke within distance d (its own metric), at 41 distances from 0 to the largest successful "
               "distance of that dataset and metric; a failed pair is broken at no distance.")
    step = step_for(args, args.results, {"table": "security_curves"})
    publish(write_table(rows, security_curves.CURVE_COLUMNS, args.out_base, caption=caption), step)
    return 0


def table_fragility(args: argparse.Namespace) -> int:
    from cw_distillation.attacks.result import AttackResult
    from cw_distillation.outputs.fragility_table import FRAGILITY_COLUMNS, fragility_rows
    from cw_distillation.outputs.tables import write_table

    rows = []
    for report_path in args.reports:  # results/<p>/fragility/<dataset>/<model>.json
        report = json.loads(Path(report_path).read_text())
        dataset = report["dataset"]
        success = {}
        for path in args.results:
            job = jobs.identify(path, "attack")
            if job["dataset"] == dataset and job["attack"] in FRAGILITY_KEYS:
                success[FRAGILITY_KEYS[job["attack"]]] = AttackResult.load(path).success
        rows += fragility_rows(
            success, [report["plain"], report["divided_by_T"]], report["temperature"], dataset=dataset
        )
    step = step_for(args, [*args.reports, *args.results], {"table": "fragility"})
    caption = (
        "Section VIII.A on the distilled networks: success of each earlier attack as published, with the "
        "paper's fix F'(x) = softmax(Z(x)/T), and L-BFGS with the C&W objective; beside it the measured "
        "diagnosis (float32 gradients of the loss of F that are exactly zero; softmax outputs that round to "
        "exactly 1.0). 'consistent' compares our success rate with the paper's outcome (fails: <= 10%, "
        "recovers: >= 50%)."
    )
    publish(write_table(rows, FRAGILITY_COLUMNS, args.out_base, caption=caption), step)
    return 0


def _attack_on(network_file: str | Path, variant: str) -> Path:
    """The result of attack ``variant`` on the network of ``network_file``, in the same results folder."""
    network = jobs.identify(network_file, "model")
    return jobs.root_of(network_file, "model") / jobs.path(
        "attack", ".npz", dataset=network["dataset"], model=network["name"], attack=variant)


def table_temperature(args: argparse.Namespace) -> int:
    from cw_distillation import evaluate
    from cw_distillation.attacks.result import AttackResult
    from cw_distillation.outputs import rules
    from cw_distillation.outputs.tables import write_table
    from cw_distillation.outputs.temperature import (
        CORRELATION_COLUMNS,
        JSMA_VARIANTS,
        TEMPERATURE_COLUMNS,
        correlation,
        effect_sizes,
        temperature_rows,
    )

    sweep, l2_samples, l2_runs = [], [], []
    for metrics_path in args.metrics:  # the distilled networks' metrics
        metrics = json.loads(Path(metrics_path).read_text())
        l2 = AttackResult.load(_attack_on(metrics_path, "l2_random"))
        entry = {
            "temperature": metrics["temperature"],
            "test_accuracy": metrics["test_accuracy"],
            "l2": evaluate.best_average_worst(l2, rng_seed=0),
            # Fig. 8's per-T interval over images (the same seeded resamples of the images at every T)
            "l2_interval": evaluate.precision(l2, rng_seed=0)["l2"]["average"],
        }
        for variant in JSMA_VARIANTS:
            entry[variant] = AttackResult.load(_attack_on(metrics_path, f"{variant}_random")).success
        sweep.append(entry)
        # one random target per image: the distances of the successful pairs are the average case's
        l2_samples.append((metrics["temperature"], l2.l2[l2.success]))
        l2_runs.append((metrics["temperature"], l2))
    sweep.sort(key=lambda entry: entry["temperature"])
    rows = temperature_rows(sweep, dataset=args.dataset)
    inputs = [*args.metrics, *args.results]
    step = step_for(args, inputs, {"table": "temperature", "dataset": args.dataset})
    caption = (
        "Section VIII.C: for each distillation temperature, the success of JSMA-F and JSMA-Z (one random target "
        "per image, the same target for both) and the C&W L2 attack's mean distance to a random target, with the "
        "original distillation paper's JSMA success (MNIST: 91% at T = 1, 24% at T = 5, 0.5% at T = 100)."
    )
    publish(write_table(rows, TEMPERATURE_COLUMNS, args.out_base, caption=caption), step)
    corr = correlation(rows, quantity="l2_mean", samples=[s for _, s in sorted(l2_samples, key=lambda e: e[0])])
    corr |= effect_sizes(l2_runs, bound=rules.load().bound(args.dataset, "l2"))
    caption = (
        "Section VIII.C, Fig. 8: Pearson's rho between T and the L2 mean distance (paper: rho = -0.05), with its "
        "95% bootstrap interval (2000 resamples of each network's attacked images, seed 0); beside it the sizes "
        "REPORT.md judges: the mean distance at the highest T over that at T = 1 on the pairs solved at both, and "
        "the slope of the mean distance against log10 T as a fraction of the mean (change per tenfold T) on the "
        "pairs solved at every T, each with a paired bootstrap interval over images."
    )
    publish(write_table([corr], CORRELATION_COLUMNS, f"{args.out_base}_correlation", caption=caption), step)
    return 0


def table_robustness_curves(args: argparse.Namespace) -> int:
    """Robust accuracy against epsilon, standard and distilled, per method and norm (issue 35)."""
    from cw_distillation.outputs import robustness_tables
    from cw_distillation.outputs.tables import write_table

    reports = [json.loads(Path(p).read_text()) for p in args.results]
    rows = robustness_tables.curve_rows(reports)
    caption = ("Robustness curves: robust accuracy (the fraction of the images, the first N that both networks "
               "classify correctly, that no untargeted attack of the method broke at any eps' <= eps) against eps, "
               "per network, norm and method (attack: FGS, IGS, APGD; loss: ce the cross-entropy of F, ce_divT of "
               "F' = softmax(Z/T), margin the C&W margin on the logits, dlr APGD's DLR).")
    step = step_for(args, args.results, {"table": "robustness_curves"})
    publish(write_table(rows, robustness_tables.CURVE_COLUMNS, args.out_base, caption=caption), step)
    return 0


def table_robustness_matrix(args: argparse.Namespace) -> int:
    """The loss x attack x temperature matrix and each network's masking flags (issue 35)."""
    from cw_distillation.outputs import robustness_tables
    from cw_distillation.outputs.tables import write_table

    reports = [json.loads(Path(p).read_text()) for p in args.results]
    pairs = json.loads(args.stronger_than)
    step = step_for(args, args.results, {"table": "robustness_matrix", "stronger_than": pairs})
    caption = ("Loss x attack x temperature: robust accuracy at one eps per norm of the standard network and of "
               "every distilled one (distillation temperature T), one column per loss (ce: cross-entropy of F; "
               "ce_divT: of F' = softmax(Z/T); margin: C&W margin on the logits; dlr: APGD's DLR), on the first N "
               "test images every one of these networks classifies correctly; untargeted.")
    publish(write_table(robustness_tables.matrix_rows(reports), robustness_tables.MATRIX_COLUMNS, args.out_base,
                         caption=caption), step)
    caption = ("Masking flags per network, on the matrix's images: the fraction whose gradient of the cross-entropy "
               "of F (true label) is exactly 0 in float32, whose float32 softmax is exactly one-hot (and whose "
               "largest probability is exactly 1.0); per pair 'stronger > weaker (norm)', the images the stronger "
               "attack broke and the weaker left standing at the matrix's eps.")
    publish(write_table(robustness_tables.flag_rows(reports, pairs), robustness_tables.flag_columns(pairs),
                         args.flags_base, caption=caption), step)
    return 0


def _read_csv(path: Path) -> list[dict]:
    from cw_distillation.outputs.report import read_table

    rows = read_table(path.parent, path.stem)
    if rows is None:
        raise FileNotFoundError(f"table {path} does not exist; run the rule that makes it")
    return rows


def figure(args: argparse.Namespace) -> int:
    """One figure from the tables it plots (no training, no attack: a plot change reruns only this)."""
    from cw_distillation.outputs import plots

    rows = _read_csv(args.table)
    base = Path(args.out_base)
    if args.figure == "fig8":
        corr = _read_csv(Path(str(args.table).removesuffix(".csv") + "_correlation.csv"))[0]
        paths = plots.fig8_distance_vs_temperature(
            [r["temperature"] for r in rows],
            [r["l2_mean"] for r in rows],
            corr["rho"],
            base,
            dataset=rows[0]["dataset"],
            rho_interval=(corr.get("rho_lo"), corr.get("rho_hi")),
            lo=[r.get("l2_mean_lo") for r in rows],
            hi=[r.get("l2_mean_hi") for r in rows],
        )
        inputs = [args.table, Path(str(args.table).removesuffix(".csv") + "_correlation.csv")]
    elif args.figure == "jsma_temperature":
        paths = plots.jsma_success_vs_temperature(
            [r["temperature"] for r in rows],
            {v: [r[f"{v}_success"] for r in rows] for v in ("jsma_f", "jsma_z")},
            base,
            lo={v: [r[f"{v}_success_lo"] for r in rows] for v in ("jsma_f", "jsma_z")},
            hi={v: [r[f"{v}_success_hi"] for r in rows] for v in ("jsma_f", "jsma_z")},
            dataset=rows[0]["dataset"],
        )
        inputs = [args.table]
    elif args.figure == "security":
        paths = plots.security_curves(rows, base)
        inputs = [args.table]
    elif args.figure == "robustness":
        from cw_distillation.outputs.robustness_plots import robustness_curves

        paths = robustness_curves(rows, base)
        inputs = [args.table]
    else:
        wanted = {"fig9": "standard", "fig10": "distilled"}[args.figure]
        selected = [r for r in rows if r["target_kind"] == wanted]
        plot = plots.fig9_transfer_standard if args.figure == "fig9" else plots.fig10_transfer_distilled
        paths = plot(selected, base)
        inputs = [args.table]
    publish(paths, step_for(args, inputs, {"figure": args.figure}))
    return 0


def figure_examples(args: argparse.Namespace) -> int:
    """A grid like the paper's: source images x targets, on the distilled networks (L2 attack)."""
    import numpy as np

    from cw_distillation.attacks.result import AttackResult
    from cw_distillation.data.prepare import load_dataset
    from cw_distillation.outputs import plots

    result = AttackResult.load(args.result)
    x_test = load_dataset(args.data)["x_test"]
    images = plots.one_source_per_class(result.image_index, result.label, args.n_sources)
    originals = x_test[images]
    grid = np.repeat(originals[:, None], 10, axis=1).copy()
    success = np.zeros((len(images), 10), bool)
    labels = np.zeros(len(images), int)
    for i, image in enumerate(images):
        sel = result.image_index == image
        labels[i] = result.label[sel][0]
        for t, x_adv, ok in zip(result.target[sel], result.x_adv[sel], result.success[sel], strict=True):
            grid[i, t], success[i, t] = x_adv, ok
        success[i, labels[i]] = True  # the diagonal shows the original
    network = jobs.identify(args.result, "attack")["model"]
    done = int(success.sum() - len(images))
    title = (
        f"C&W {Path(args.result).stem.upper()} on the {network.replace('_', ' ')} network: "
        f"{done} of {len(images) * 9} targets reached\none source image per class, the first attacked"
    )
    names = DATASETS[args.dataset].class_names
    absent = [name for c, name in enumerate(names) if c not in set(result.label.tolist())]
    if absent:  # the first N images may hold no example of a class (MNIST's first 50: no 8)
        title += f"; no {', '.join(absent)} among the {len(np.unique(result.image_index))} attacked images"
    grid_data = {"originals": originals, "adversarial": grid, "labels": labels, "success": success, "title": title}
    paths = plots.adversarial_examples({**grid_data, "class_names": names}, args.out_base)
    publish(paths, step_for(args, [args.result, args.data], {"n_sources": args.n_sources}))
    return 0


# ----------------------------------------------------------------------------- transfer


def table_transfer(args: argparse.Namespace) -> int:
    import numpy as np

    from cw_distillation.outputs.tables import write_table
    from cw_distillation.transfer import TRANSFER_COLUMNS, transfer_curve

    with np.load(args.examples, allow_pickle=False) as z:
        kappa, success, target, label = z["kappa"], z["success"], z["target"], z["label"]
    rows = []
    for pred_path in args.predictions:  # results/<p>/transfer/<dataset>/<source>_to_<target>.npz
        name = Path(pred_path).stem.split("_to_", 1)[1]
        kind = "standard" if name.startswith(("half", "standard")) else "distilled"
        with np.load(pred_path, allow_pickle=False) as z:
            pred = z["pred"]
        for row in transfer_curve(kappa, success, target, label, pred):
            rows.append(
                {"dataset": args.dataset, "source": args.source, "target_model": name, "target_kind": kind, **row}
            )
    columns = ["dataset", "source", "target_model", "target_kind", *TRANSFER_COLUMNS]
    caption = (
        "Section VIII.D (Figs. 9 and 10): high-confidence L2 examples (confidence kappa) made on a standard "
        "network, evaluated on another standard network trained on disjoint data and on the distilled "
        "network; targeted = the target network predicts the attack's target, untargeted = anything but the "
        "true label; among the source's successful examples; 95% Clopper-Pearson intervals."
    )
    step = step_for(args, [args.examples, *args.predictions], {"dataset": args.dataset, "source": args.source})
    publish(write_table(rows, columns, args.out_base, caption=caption), step)
    return 0


def report(args: argparse.Namespace) -> int:
    from cw_distillation.files import write_text_atomic
    from cw_distillation.outputs.report import build_verdicts, render, write_verdicts

    config = json.loads(args.config)
    verdicts = build_verdicts(Path(args.tables), config)  # checks the rules file before writing anything
    json_out = args.json_out or Path(args.out).with_name("verdicts.json")
    write_text_atomic(json_out, write_verdicts(verdicts))
    write_text_atomic(args.out, render(verdicts, config, Path(args.tables)))
    publish([args.out, json_out], step_for(args, args.inputs, {"profile": config["profile"]}))
    return 0


def table_verdicts_compared(args: argparse.Namespace) -> int:
    """Every claim two profiles' reports judge, side by side, those whose verdict moves first."""
    from cw_distillation.outputs import verdict_comparison
    from cw_distillation.outputs.tables import write_table

    base, other = (json.loads(Path(p).read_text()) for p in (args.base, args.verdicts))
    rows = verdict_comparison.compare(base, other)
    columns = verdict_comparison.columns(base["profile"], other["profile"])
    step = step_for(args, [args.base, args.verdicts], {"table": f"verdicts against {base['profile']}"})
    caption = verdict_comparison.caption(rows, base, other)
    publish(write_table(rows, columns, args.out_base, caption=caption), step)
    return 0


def table_job_times(args: argparse.Namespace) -> int:
    """The job-time table of a profile's run, from the benchmark files of its jobs."""
    from cw_distillation.outputs.job_times import JOB_TIME_COLUMNS, job_time_rows
    from cw_distillation.outputs.tables import write_table

    paths = sorted(Path(args.benchmarks).glob("*.tsv"))
    if not paths:
        print(f"{args.benchmarks}: no benchmark files; run the profile first (make replicate PROFILE=...)")
        return 1
    rows = job_time_rows(paths)
    step = step_for(args, paths, {"table": "job_times", "benchmarks": str(args.benchmarks)})
    caption = (
        "Measured job times of one run of the profile (Snakemake benchmark files): per kind of job, how many ran and "
        "their median, largest and total wall time in seconds, and the largest resident memory (MB); the machine is "
        "in each table's provenance manifest."
    )
    publish(write_table(rows, JOB_TIME_COLUMNS, args.out_base, caption=caption), step)
    return 0


def readme_results(args: argparse.Namespace) -> int:
    """Rewrite (or, with --check, compare) the results blocks of the README (the counts) and of
    docs/results.md (every judged row) from the verdicts.json files."""
    from cw_distillation.outputs.readme import (
        RESULTS_END,
        RESULTS_PAGE,
        RESULTS_START,
        committed_reports,
        results_block,
        splice,
    )

    readme = Path(args.readme)
    root = readme.resolve().parent
    page = root / RESULTS_PAGE
    args.reports = args.reports or committed_reports(root)
    link = f"Every judged row, per profile: [{RESULTS_PAGE}]({RESULTS_PAGE})."
    wanted = {
        readme: splice(readme.read_text(), results_block(args.reports, root, full=False).replace(
            RESULTS_END, f"{link}\n\n{RESULTS_END}")),
        page: splice(page.read_text() if page.is_file() else
                     f"# Results\n\nEvery judged row of each profile's REPORT.md.\n\n{RESULTS_START}\n{RESULTS_END}\n",
                     results_block(args.reports, root, full=True, prefix="../")),
    }
    stale = [path for path, text in wanted.items() if not path.is_file() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path}: its results block differs from {', '.join(map(str, args.reports))}; run: make readme")
        if not stale:
            print(f"{readme} and {page}: results blocks match the reports")
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(wanted[path])
    print(f"{readme} and {page}: results blocks written from {len(args.reports)} report(s)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("table-accuracy", help="paper_outputs table of every network's test accuracy")
    p.add_argument("--metrics", nargs="+", required=True, type=Path, help="the training steps' .json files")
    p.add_argument("--out-base", required=True, type=Path, help="path without extension (.csv/.md/.tex are written)")
    add_step_options(p)
    p.set_defaults(handler=table_accuracy)

    p = sub.add_parser("table-logits", help="paper_outputs table of logit sizes (standard vs distilled)")
    p.add_argument("--logits", nargs="+", required=True, type=Path, help="logits/<dataset>/<model>.npz files")
    p.add_argument("--out-base", required=True, type=Path, help="the output path without its extensions")
    add_step_options(p)
    p.set_defaults(handler=table_logits)

    p = sub.add_parser("table-attacks", help="Table IV (undistilled) or VI (distilled) from attack summaries")
    p.add_argument("--table", required=True, choices=["iv", "vi"], help="Table IV (standard) or VI (distilled)")
    p.add_argument("--summaries", nargs="+", required=True, type=Path, help="the attacks' summary .json files")
    p.add_argument("--out-base", required=True, type=Path, help="the output path without its extensions")
    add_step_options(p)
    p.set_defaults(handler=table_attacks)

    p = sub.add_parser("table-statistics", help="the intervals REPORT.md judges Tables IV and VI by")
    p.add_argument("--results", nargs="+", required=True, type=Path, help="attack .npz files, standard and distilled")
    p.add_argument("--out-base", required=True, type=Path, help="the output path without its extensions")
    add_step_options(p)
    p.set_defaults(handler=table_statistics)

    p = sub.add_parser("table-security", help="security curves: pairs broken within d, against d, per attack")
    p.add_argument("--results", nargs="+", required=True, type=Path, help="attack .npz files, standard and distilled")
    p.add_argument("--out-base", required=True, type=Path, help="the output path without its extensions")
    add_step_options(p)
    p.set_defaults(handler=table_security)

    p = sub.add_parser("table-robustness-curves", help="robust accuracy against epsilon, per network and method")
    p.add_argument("--results", nargs="+", required=True, type=Path, help="robustness/<dataset>/<network>/curves.json")
    p.add_argument("--out-base", required=True, type=Path)
    add_step_options(p)
    p.set_defaults(handler=table_robustness_curves)

    p = sub.add_parser("table-robustness-matrix", help="the loss x attack x temperature matrix and the masking flags")
    p.add_argument("--results", nargs="+", required=True, type=Path, help="robustness/<dataset>/<network>/matrix.json")
    p.add_argument("--stronger-than", default="[]", help="JSON list of [weaker, stronger] method pairs")
    p.add_argument("--out-base", required=True, type=Path, help="the matrix (.csv/.md/.tex)")
    p.add_argument("--flags-base", required=True, type=Path, help="the masking flags (.csv/.md/.tex)")
    add_step_options(p)
    p.set_defaults(handler=table_robustness_matrix)

    p = sub.add_parser("table-fragility", help="Section VIII.A table: earlier attacks and the diagnosis")
    p.add_argument("--reports", nargs="+", required=True, type=Path, help="fragility .json per dataset")
    p.add_argument("--results", nargs="+", required=True, type=Path, help="attack .npz files on the distilled nets")
    p.add_argument("--out-base", required=True, type=Path, help="the output path without its extensions")
    add_step_options(p)
    p.set_defaults(handler=table_fragility)

    p = sub.add_parser("table-temperature", help="Section VIII.C table and the correlation of Fig. 8")
    p.add_argument("--dataset", required=True, choices=NAMES, help="the sweep's dataset")
    p.add_argument("--metrics", nargs="+", required=True, type=Path, help="distilled_T<t>.json of the sweep")
    p.add_argument(
        "--results", nargs="+", required=True, type=Path, help="their l2_random, jsma_f_random and jsma_z_random .npz"
    )
    p.add_argument("--out-base", required=True, type=Path, help="the output path without its extensions")
    add_step_options(p)
    p.set_defaults(handler=table_temperature)

    p = sub.add_parser("table-job-times", help="a profile's job-time table from its jobs' benchmark files")
    p.add_argument("--benchmarks", required=True, type=Path, help="results/<profile>/benchmarks")
    p.add_argument("--out-base", required=True, type=Path, help="paper_outputs/<profile>/tables/job_times")
    add_step_options(p)
    p.set_defaults(handler=table_job_times)

    p = sub.add_parser("readme-results", help="the README's results block from the verdicts.json files")
    p.add_argument("reports", nargs="*", type=Path,
                   help="paper_outputs/<profile>/verdicts.json, in order (default: those of outputs/readme.PROFILES)")
    p.add_argument("--readme", default=Path("README.md"), type=Path, help="the file whose results block is written")
    p.add_argument("--check", action="store_true", help="only compare; exit 1 if the README differs")
    p.set_defaults(handler=readme_results)

    p = sub.add_parser("figure", help="one figure from its table")
    p.add_argument("--figure", required=True, choices=["fig8", "jsma_temperature", "fig9", "fig10", "security",
                                                            "robustness"], help="which figure")
    p.add_argument("--table", required=True, type=Path, help="the .csv it plots")
    p.add_argument("--out-base", required=True, type=Path, help="the output path without its extensions")
    add_step_options(p)
    p.set_defaults(handler=figure)

    p = sub.add_parser("figure-examples", help="grid of adversarial examples (sources x targets)")
    p.add_argument("--result", required=True, type=Path, help="an L2 attack .npz with all targets")
    p.add_argument("--data", required=True, type=Path, help="the prepared dataset (the source images)")
    p.add_argument("--dataset", required=True, choices=NAMES, help="names its classes")
    p.add_argument("--n-sources", type=int, default=10, help="source rows: the first attacked image of each class")
    p.add_argument("--out-base", required=True, type=Path, help="the output path without its extensions")
    add_step_options(p)
    p.set_defaults(handler=figure_examples)

    p = sub.add_parser("table-transfer", help="Section VIII.D table: transfer rates per kappa, with intervals")
    p.add_argument("--dataset", required=True, choices=NAMES, help="the transfer experiment's dataset")
    p.add_argument("--source", required=True, help="the network the examples were made on (half_a)")
    p.add_argument("--examples", required=True, type=Path, help="the high-confidence examples (.npz)")
    p.add_argument("--predictions", nargs="+", required=True, type=Path, help="each target network's predictions")
    p.add_argument("--out-base", required=True, type=Path, help="the output path without its extensions")
    add_step_options(p)
    p.set_defaults(handler=table_transfer)

    p = sub.add_parser("table-verdicts-compared", help="two profiles' verdicts side by side, those that move first")
    p.add_argument("--base", required=True, type=Path, help="the verdicts.json compared against (config compare_with)")
    p.add_argument("--verdicts", required=True, type=Path, help="this profile's verdicts.json")
    p.add_argument("--out-base", required=True, type=Path, help="the output path without its extensions")
    add_step_options(p)
    p.set_defaults(handler=table_verdicts_compared)

    p = sub.add_parser("report", help="REPORT.md: every claim of Section VIII beside ours, with a verdict")
    p.add_argument("--tables", required=True, type=Path, help="paper_outputs/<profile>/tables")
    p.add_argument("--config", required=True, help="the resolved config, as JSON")
    p.add_argument("--inputs", nargs="+", required=True, type=Path, help="the tables and figures it summarises")
    p.add_argument("--out", required=True, type=Path, help="REPORT.md")
    p.add_argument("--json-out", type=Path, help="the verdicts as JSON (default: verdicts.json beside --out)")
    add_step_options(p)
    p.set_defaults(handler=report)

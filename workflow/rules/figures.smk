# One figure, one rule, one plotting function (src/cw_distillation/outputs/plots.py); each reads only
# its table, so a change to plotting code reruns the plot and nothing else.

# The command of every figure of FIGURES (common.smk): which one, from the name of its rule's output.
FIGURE = "cw-distillation figure --figure {params.figure} --table {input.table} --out-base {params.base}"


# Fig. 8: mean L2 distance against the distillation temperature, with Pearson's rho.
rule fig8_distance_vs_temperature:
    input:
        table=f"{OUTPUTS}/tables/temperature.csv",
        correlation=f"{OUTPUTS}/tables/temperature_correlation.csv",
        code=PLOT_CODE,
    output:
        report(
            multiext(
                f"{OUTPUTS}/figures/fig8_distance_vs_temperature",
                ".pdf",
                ".png",
            ),
            caption="../report/fig8.rst",
            category="VIII.C Effect of temperature",
        ),
    log:
        f"{RESULTS}/logs/fig8.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
        figure=figure_key,
    shell:
        step(FIGURE, rule="fig8_distance_vs_temperature", code=True)


# JSMA's success against the distillation temperature (the original paper's trend).
rule jsma_success_vs_temperature:
    input:
        table=f"{OUTPUTS}/tables/temperature.csv",
        code=PLOT_CODE,
    output:
        report(
            multiext(
                f"{OUTPUTS}/figures/jsma_success_vs_temperature",
                ".pdf",
                ".png",
            ),
            caption="../report/jsma_temperature.rst",
            category="VIII.C Effect of temperature",
        ),
    log:
        f"{RESULTS}/logs/jsma_temperature.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
        figure=figure_key,
    shell:
        step(FIGURE, rule="jsma_success_vs_temperature", code=True)


# Figs. 9 and 10: transfer probability against kappa, to a standard and to the distilled network.
rule fig_transfer:
    input:
        table=f"{OUTPUTS}/tables/transfer.csv",
        code=PLOT_CODE,
    output:
        report(
            multiext(f"{OUTPUTS}/figures/{{fig}}", ".pdf", ".png"),
            caption="../report/transfer_figure.rst",
            category="VIII.D Transferability",
        ),
    log:
        f"{RESULTS}/logs/{{fig}}.log",
    wildcard_constraints:
        fig="|".join(name for name, (_, e) in FIGURES.items() if e == "transfer"),
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
        figure=figure_key,
    shell:
        step(FIGURE, rule="fig_transfer", code=True)


# Adversarial examples on the distilled network: one source image per class x targets (L2).
rule adversarial_examples:
    input:
        result=result("attack", ".npz", model=f"distilled_T{MAIN_T}", attack="l2"),
        data=rules.prepare.output,
        code=PLOT_CODE,
    output:
        report(
            multiext(
                f"{OUTPUTS}/figures/adversarial_examples_{{dataset}}", ".pdf", ".png"
            ),
            caption="../report/adversarial_examples.rst",
            category="VIII.B Applying our attacks",
        ),
    log:
        f"{RESULTS}/logs/adversarial_examples_{{dataset}}.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
        n_sources=config["figures"]["example_sources"],
    shell:
        step(
            "cw-distillation figure-examples --dataset {wildcards.dataset} --result {input.result} --data {input.data}"
            " --n-sources {params.n_sources} --out-base {params.base}",
            rule="adversarial_examples",
            code=True,
        )


# Beyond the paper: security curves, standard (solid) and distilled (dashed), per metric.
rule security_curves:
    input:
        table=f"{OUTPUTS}/tables/security_curves.csv",
        code=PLOT_CODE,
    output:
        report(
            multiext(f"{OUTPUTS}/figures/security_curves", ".pdf", ".png"),
            caption="../report/security_curves.rst",
            category="Beyond the paper",
        ),
    log:
        f"{RESULTS}/logs/security_curves.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
        figure=figure_key,
    shell:
        step(FIGURE, rule="security_curves", code=True)

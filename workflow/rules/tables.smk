# Tables and figures read results/ only: changing their code never reruns a training or an attack.


# Test accuracy of every network (paper: MNIST 99.5%, CIFAR-10 80%).
rule table_model_accuracy:
    input:
        metrics=model_outputs(),
        code=code_of("reporting", "outputs.model_tables", "outputs.tables"),
    output:
        report(
            multiext(f"{OUTPUTS}/tables/model_accuracy", ".csv", ".md", ".tex"),
            caption="../report/model_accuracy.rst",
            category="Networks",
        ),
    log:
        f"{RESULTS}/logs/table_model_accuracy.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
    shell:
        step(
            "cw-distillation table-accuracy --metrics {input.metrics} --out-base {params.base}",
            rule="table_model_accuracy",
            code=True,
        )


# Size of the logits, standard vs distilled at the main T (Section VIII.A: 5.8 +- 6.4 vs 482 +- 457).
rule table_logit_norms:
    input:
        logits=expand(
            result("logits", ".npz"),
            dataset=DATASETS,
            model=["standard", f"distilled_T{MAIN_T}"],
        ),
        code=code_of("reporting", "outputs.model_tables", "outputs.tables"),
    output:
        report(
            multiext(f"{OUTPUTS}/tables/logit_norms", ".csv", ".md", ".tex"),
            caption="../report/logit_norms.rst",
            category="VIII.A Fragility of existing attacks",
        ),
    log:
        f"{RESULTS}/logs/table_logit_norms.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
    shell:
        step(
            "cw-distillation table-logits --logits {input.logits} --out-base {params.base}",
            rule="table_logit_norms",
            code=True,
        )


# Table IV: every attack on the standard networks.
rule table4_undistilled:
    input:
        summaries=table_inputs("standard"),
        code=code_of("reporting", "outputs.attack_tables", "outputs.tables"),
    output:
        report(
            multiext(f"{OUTPUTS}/tables/table4_undistilled", ".csv", ".md", ".tex"),
            caption="../report/table4.rst",
            category="VIII.B Applying our attacks",
        ),
    log:
        f"{RESULTS}/logs/table4_undistilled.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
    shell:
        step(
            "cw-distillation table-attacks --table iv --summaries {input.summaries} --out-base {params.base}",
            rule="table4_undistilled",
            code=True,
        )


# Table VI: every attack on the distilled networks (main temperature).
rule table6_distilled:
    input:
        summaries=table_inputs(f"distilled_T{MAIN_T}"),
        code=code_of("reporting", "outputs.attack_tables", "outputs.tables"),
    output:
        report(
            multiext(f"{OUTPUTS}/tables/table6_distilled", ".csv", ".md", ".tex"),
            caption="../report/table6.rst",
            category="VIII.B Applying our attacks",
        ),
    log:
        f"{RESULTS}/logs/table6_distilled.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
    shell:
        step(
            "cw-distillation table-attacks --table vi --summaries {input.summaries} --out-base {params.base}",
            rule="table6_distilled",
            code=True,
        )


# Section VIII.A: the earlier attacks on the distilled networks, their fixes, and the measured diagnosis.
rule table_fragility:
    input:
        reports=expand(
            result("fragility", ".json", model=f"distilled_T{MAIN_T}"),
            dataset=DATASETS,
        ),
        results=fragility_results(),
        code=code_of("reporting", "outputs.fragility_table", "outputs.tables"),
    output:
        report(
            multiext(f"{OUTPUTS}/tables/fragility", ".csv", ".md", ".tex"),
            caption="../report/fragility.rst",
            category="VIII.A Fragility of existing attacks",
        ),
    log:
        f"{RESULTS}/logs/table_fragility.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
    shell:
        step(
            "cw-distillation table-fragility --reports {input.reports} --results {input.results}"
            " --out-base {params.base}",
            rule="table_fragility",
            code=True,
        )


# The intervals REPORT.md judges Tables IV and VI by: distances over images, success rates, paired ratios.
rule table_attack_statistics:
    input:
        results=statistics_results(),
        rules=workflow.source_path("../../src/cw_distillation/verdict_rules.yaml"),
        code=code_of(
            "reporting", "outputs.attack_statistics", "outputs.rules", "outputs.tables"
        ),
    output:
        multiext(f"{OUTPUTS}/tables/attack_statistics", ".csv", ".md", ".tex"),
    log:
        f"{RESULTS}/logs/table_attack_statistics.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
    shell:
        step(
            "cw-distillation table-statistics --results {input.results} --out-base {params.base}",
            rule="table_attack_statistics",
            code=True,
        )


# Beyond the paper: the fraction of pairs each attack broke within distance d, from the stored results.
rule table_security_curves:
    input:
        results=statistics_results(),
        code=code_of("reporting", "outputs.security_curves", "outputs.tables"),
    output:
        multiext(f"{OUTPUTS}/tables/security_curves", ".csv", ".md", ".tex"),
    log:
        f"{RESULTS}/logs/table_security_curves.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
    shell:
        step(
            "cw-distillation table-security --results {input.results} --out-base {params.base}",
            rule="table_security_curves",
            code=True,
        )


# Section VIII.C: JSMA success and the L2 distance across the temperature sweep, and Fig. 8's correlation.
rule table_temperature:
    input:
        metrics=sweep_models("json"),
        results=sweep_results(),
        code=code_of(
            "reporting", "outputs.temperature", "outputs.rules", "outputs.tables"
        ),
    output:
        report(
            multiext(f"{OUTPUTS}/tables/temperature", ".csv", ".md", ".tex"),
            caption="../report/temperature.rst",
            category="VIII.C Effect of temperature",
        ),
        multiext(
            f"{OUTPUTS}/tables/temperature_correlation",
            ".csv",
            ".md",
            ".tex",
        ),
    log:
        f"{RESULTS}/logs/table_temperature.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
        dataset=SWEEP,
    shell:
        step(
            "cw-distillation table-temperature --dataset {params.dataset} --metrics {input.metrics}"
            " --results {input.results} --out-base {params.base}",
            rule="table_temperature",
            code=True,
        )


# Section VIII.D: transfer rates per kappa, to the standard and to the distilled network.
rule table_transfer:
    input:
        examples=result("transfer", ".npz", dataset=TRANSFER, model="half_a"),
        predictions=expand(
            rules.transfer_predict.output[0],
            dataset=TRANSFER,
            model=["half_b", f"distilled_T{MAIN_T}"],
        ),
        code=code_of("reporting", "transfer", "outputs.tables"),
    output:
        report(
            multiext(f"{OUTPUTS}/tables/transfer", ".csv", ".md", ".tex"),
            caption="../report/transfer.rst",
            category="VIII.D Transferability",
        ),
    log:
        f"{RESULTS}/logs/table_transfer.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
        dataset=TRANSFER,
    shell:
        step(
            "cw-distillation table-transfer --dataset {params.dataset} --source half_a"
            " --examples {input.examples} --predictions {input.predictions} --out-base {params.base}",
            rule="table_transfer",
            code=True,
        )


# REPORT.md: every claim of Section VIII, the paper's value beside ours, with a tolerance and a verdict.
rule replication_report:
    input:
        outputs=paper_outputs(),
        code=REPORT_CODE,
    output:
        md=report(
            f"{OUTPUTS}/REPORT.md",
            caption="../report/replication_report.rst",
            category="Verdict",
        ),
        json=f"{OUTPUTS}/verdicts.json",
    log:
        f"{RESULTS}/logs/replication_report.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        tables=lambda w, output: os.path.join(os.path.dirname(output.md), "tables"),
        config=json.dumps(config, sort_keys=True),
    shell:
        step(
            "cw-distillation report --tables {params.tables} --config {params.config:q} --inputs {input}"
            " --out {output.md} --json-out {output.json}",
            rule="replication_report",
        )


# Every claim judged by this profile and by the profile named by compare_with (issue 33: 50 against
# 10 epochs on the same images), side by side, the verdicts that move first.
if COMPARE_WITH:

    rule table_verdicts_compared:
        input:
            base=f"paper_outputs/{COMPARE_WITH}/verdicts.json",
            verdicts=rules.replication_report.output.json,
            code=code_of("reporting", "outputs.verdict_comparison", "outputs.tables"),
        output:
            report(
                multiext(
                    f"{OUTPUTS}/tables/verdicts_vs_{COMPARE_WITH}",
                    ".csv",
                    ".md",
                    ".tex",
                ),
                caption="../report/verdicts_compared.rst",
                category="Verdict",
            ),
        log:
            f"{RESULTS}/logs/table_verdicts_compared.log",
        conda:
            CONDA_ENV
        resources:
            **res("light"),
        params:
            base=table_base,
        shell:
            step(
                "cw-distillation table-verdicts-compared --base {input.base} --verdicts {input.verdicts}"
                " --out-base {params.base}",
                rule="table_verdicts_compared",
                code=True,
            )

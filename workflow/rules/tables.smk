# Tables and figures read results/ only: changing their code never reruns a training or an attack.


# Test accuracy of every network (paper: MNIST 99.5%, CIFAR-10 80%).
rule table_model_accuracy:
    input:
        model_outputs(),
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
        mem_mb=res("light")["mem_mb"],
        runtime=res("light")["runtime"],
        cpus_per_task=res("light")["cpus_per_task"],
    params:
        base=table_base,
    shell:
        "cw-distillation table-accuracy --metrics {input} --out-base {params.base}"
        " --rule table_model_accuracy 2>&1 | tee {log}"


# Size of the logits, standard vs distilled at the main T (Section VIII.A: 5.8 +- 6.4 vs 482 +- 457).
rule table_logit_norms:
    input:
        expand(
            f"{RESULTS}/logits/{{dataset}}/{{model}}.npz",
            dataset=DATASETS,
            model=["standard", f"distilled_T{MAIN_T}"],
        ),
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
        mem_mb=res("light")["mem_mb"],
        runtime=res("light")["runtime"],
        cpus_per_task=res("light")["cpus_per_task"],
    params:
        base=table_base,
    shell:
        "cw-distillation table-logits --logits {input} --out-base {params.base}"
        " --rule table_logit_norms 2>&1 | tee {log}"

# Beyond the paper (issue 35): robust accuracy against epsilon under FGS, IGS and APGD with the
# cross-entropy of F, of F' = softmax(Z/T), the C&W margin and DLR (src/cw_distillation/robustness.py),
# the loss x attack x temperature matrix and the masking flags. Off unless robustness.datasets names a dataset.


# One network's robust accuracy at every epsilon of its job (curves: the grids; matrix: one per norm,
# with the network's masking flags), on the first N test images it and the networks it is compared with
# classify correctly.
rule robustness:
    input:
        data=rules.prepare.output,
        model=result("model", ".keras", name="{model}"),
        selectors=image_selectors("robustness"),
    output:
        result("robustness", ".json"),
    log:
        f"{RESULTS}/logs/robustness_{{dataset}}_{{model}}_{{job}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/robustness_{{dataset}}_{{model}}_{{job}}.tsv"
    wildcard_constraints:
        job=jobs.KINDS["robustness"].regex("job"),
    conda:
        CONDA_ENV
    resources:
        **res("attack"),
    params:
        publish=publish,
        methods=setting("robustness", "methods", show=" ".join),
        eps=setting("robustness", "eps", show=robustness_eps),
        temperature=setting("robustness", "temperature"),
        n_images=setting("robustness", "n_images"),
        igs_steps=setting("robustness", "igs_steps"),
        apgd=setting("robustness", "apgd", show=as_json),
        masking=setting(
            "robustness", "masking", show=lambda m: "--masking" if m else ""
        ),
        batch_size=setting("robustness", "batch_size"),
        seed=setting("robustness", "seed"),
        checkpoint_minutes=config["checkpoint_minutes"],
        select=select_flags,
    shell:
        step(
            "cw-distillation robustness --dataset {wildcards.dataset} --data {input.data} --model {input.model}"
            " --n-images {params.n_images} {params.select} --temperature {params.temperature}"
            " --methods {params.methods} {params.eps} --igs-steps {params.igs_steps} --apgd-options {params.apgd:q}"
            " {params.masking} --batch-size {params.batch_size} --seed {params.seed}"
            " --checkpoint-minutes {params.checkpoint_minutes} --out {output}",
            rule="robustness",
            publish=True,
        )


# Robust accuracy against epsilon, standard and main distilled network, per method and norm.
rule table_robustness_curves:
    input:
        results=robustness_results("curves"),
        code=code_of("reporting", "outputs.robustness_tables", "outputs.tables"),
    output:
        report(
            multiext(f"{OUTPUTS}/tables/robustness_curves", ".csv", ".md", ".tex"),
            caption="../report/robustness_curves_table.rst",
            category="Beyond the paper",
        ),
    log:
        f"{RESULTS}/logs/table_robustness_curves.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
    shell:
        step(
            "cw-distillation table-robustness-curves --results {input.results} --out-base {params.base}",
            rule="table_robustness_curves",
            code=True,
        )


# The loss x attack x temperature matrix, and each network's masking flags.
rule table_robustness_matrix:
    input:
        results=robustness_results("matrix"),
        code=code_of("reporting", "outputs.robustness_tables", "outputs.tables"),
    output:
        report(
            multiext(f"{OUTPUTS}/tables/robustness_matrix", ".csv", ".md", ".tex"),
            caption="../report/robustness_matrix.rst",
            category="Beyond the paper",
        ),
        report(
            multiext(f"{OUTPUTS}/tables/masking_flags", ".csv", ".md", ".tex"),
            caption="../report/masking_flags.rst",
            category="Beyond the paper",
        ),
    log:
        f"{RESULTS}/logs/table_robustness_matrix.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
        flags_base=lambda w, output: os.path.splitext(output[3])[0],
        stronger_than=json.dumps(config["robustness"]["stronger_than"]),
    shell:
        step(
            "cw-distillation table-robustness-matrix --results {input.results} --stronger-than {params.stronger_than:q}"
            " --out-base {params.base} --flags-base {params.flags_base}",
            rule="table_robustness_matrix",
            code=True,
        )


# The curves: one panel per norm, standard solid, distilled dashed, one line per method.
rule robustness_curves:
    input:
        table=f"{OUTPUTS}/tables/robustness_curves.csv",
        code=ROBUSTNESS_PLOT_CODE,
    output:
        report(
            multiext(f"{OUTPUTS}/figures/robustness_curves", ".pdf", ".png"),
            caption="../report/robustness_curves.rst",
            category="Beyond the paper",
        ),
    log:
        f"{RESULTS}/logs/robustness_curves.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
        figure=figure_key,
    shell:
        step(FIGURE, rule="robustness_curves", code=True)

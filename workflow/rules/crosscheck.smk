# Beyond the paper (issue 35): FMN on the pairs of each C&W result of Tables IV and VI, and the
# table that compares the two pair by pair (cw_distillation.crosscheck).


rule crosscheck:
    input:
        data=rules.prepare.output,
        model=result("model", ".keras", name="{model}"),
        cw=result("attack", ".npz", attack="{norm}"),
    output:
        f"{RESULTS}/crosscheck/{{dataset}}/{{model}}/fmn_{{norm}}.npz",
    log:
        f"{RESULTS}/logs/crosscheck_{{dataset}}_{{model}}_{{norm}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/crosscheck_{{dataset}}_{{model}}_{{norm}}.tsv"
    wildcard_constraints:
        norm="l0|l2|linf",
    conda:
        CONDA_ENV
    resources:
        **res("attack"),
    params:
        steps=CROSSCHECK["steps"],
        batch_size=ATTACK_CFG["batch_size"],
    shell:
        step(
            "cw-distillation crosscheck --dataset {wildcards.dataset} --data {input.data} --model {input.model}"
            " --cw {input.cw} --norm {wildcards.norm} --steps {params.steps} --batch-size {params.batch_size}"
            " --out {output}",
            rule="crosscheck",
        )


rule table_crosscheck:
    input:
        cw=crosscheck_results("cw"),
        fmn=crosscheck_results("fmn"),
        code=code_of("crosschecking", "crosscheck", "outputs.tables"),
    output:
        report(
            multiext(f"{OUTPUTS}/tables/fmn_vs_cw", ".csv", ".md", ".tex"),
            caption="../report/fmn_vs_cw.rst",
            category="Beyond the paper",
        ),
    log:
        f"{RESULTS}/logs/table_crosscheck.log",
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        base=table_base,
    shell:
        step(
            "cw-distillation table-crosscheck --cw {input.cw} --fmn {input.fmn} --out-base {params.base}",
            rule="table_crosscheck",
            code=True,
        )

# The verified store of expensive results (src/cw_distillation/store.py; docs/store.md).
# A storable file whose entry verifies is restored instead of computed; every storable job
# publishes its results there when `store.publish` is on.


# Restore one file of results/<profile>/ from the store: preferred to the job that computes it.
rule restore:
    input:
        unpack(restore_input),
    output:
        f"{RESULTS}/{{stored}}",
    log:
        f"{RESULTS}/logs/restore/{{stored}}.log",
    wildcard_constraints:
        stored=jobs.RESTORABLE,
    conda:
        CONDA_ENV
    params:
        store=STORE,
        results=lambda w, output: output[0].removesuffix(w.stored).rstrip("/"),
        parts=lambda w: json.dumps(store_parts(w.stored), sort_keys=True),
    shell:
        logged(
            "cw-distillation store restore --store {params.store:q} --results {params.results} --parts {params.parts:q}"
            " {output}"
        )


ruleorder:
    restore
    > train_standard
    > train_half
    > train_init
    > train_teacher
    > train_distilled
    > logits
    > attack
    > fragility
    > transfer_examples
    > robustness

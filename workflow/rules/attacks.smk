# Every attack is `cw-distillation attack` (src/cw_distillation/steps/attacking.py); the {attack}
# wildcard names a variant (see plan.attack_spec): l2, jsma_f, fgs_divT, lbfgs_cw, l2_random, ...


# One attack on one network: the first N test images it (and, paired, the network it is compared with) classifies
# correctly, all targets (or a random one).
rule attack:
    input:
        data=rules.prepare.output,
        model=result("model", ".keras", name="{model}"),
        selectors=image_selectors("attack"),
    output:
        result=result("attack", ".npz"),
        summary=result("attack", ".json"),
    log:
        f"{RESULTS}/logs/attack_{{dataset}}_{{model}}_{{attack}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/attack_{{dataset}}_{{model}}_{{attack}}.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("attack"),
    params:
        publish=publish,
        attack=setting("attack", "attack"),
        options=setting("attack", "options", show=as_json),
        targets=setting("attack", "targets"),
        n_images=setting("attack", "n_images"),
        batch_size=setting("attack", "batch_size"),
        seed=setting("attack", "seed"),
        checkpoint_minutes=config["checkpoint_minutes"],
        resume=resume,
        select=select_flags,
        reuse=reuse_flags,
    shell:
        "{params.resume}"
        + step(
            "cw-distillation attack --attack {params.attack} --options {params.options:q} --targets {params.targets}"
            " --dataset {wildcards.dataset} --data {input.data} --model {input.model} --n-images {params.n_images}"
            " {params.select} {params.reuse}"
            " --batch-size {params.batch_size} --checkpoint-minutes {params.checkpoint_minutes} --seed {params.seed}"
            " --out {output.result} --summary {output.summary}",
            rule="attack",
            publish=True,
        )


# Section VIII.A's diagnosis on a network: exactly-zero float32 gradients and saturated softmax, with and without F/T.
rule fragility:
    input:
        data=rules.prepare.output,
        model=result("model", ".keras", name="{model}"),
    output:
        result("fragility", ".json"),
    log:
        f"{RESULTS}/logs/fragility_{{dataset}}_{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/fragility_{{dataset}}_{{model}}.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("attack"),
    params:
        publish=publish,
        n_images=setting("fragility", "n_images"),
        temperature=setting("fragility", "temperature"),
    shell:
        step(
            "cw-distillation fragility --dataset {wildcards.dataset} --data {input.data} --model {input.model}"
            " --n-images {params.n_images} --temperature {params.temperature} --out {output}",
            rule="fragility",
            publish=True,
        )


# Section VIII.D: high-confidence examples on the source network, every kappa in one batch.
rule transfer_examples:
    input:
        data=rules.prepare.output,
        model=result("model", ".keras", name="half_a"),
    output:
        result("transfer", ".npz", model="half_a"),
    log:
        f"{RESULTS}/logs/transfer_examples_{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/transfer_examples_{{dataset}}.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("attack"),
    params:
        publish=publish,
        kappas=setting(
            "transfer", "kappas", show=lambda k: " ".join(map(str, k)), model="half_a"
        ),
        n_images=setting("transfer", "n_images", model="half_a"),
        targets=setting("transfer", "targets", model="half_a"),
        seed=setting("transfer", "seed", model="half_a"),
        options=setting("transfer", "options", show=as_json, model="half_a"),
        batch_size=setting("transfer", "batch_size", model="half_a"),
        checkpoint_minutes=config["checkpoint_minutes"],
    shell:
        step(
            "cw-distillation transfer-attack --dataset {wildcards.dataset} --data {input.data} --model {input.model}"
            " --n-images {params.n_images} --kappas {params.kappas} --options {params.options:q}"
            " --targets {params.targets} --seed {params.seed}"
            " --batch-size {params.batch_size} --checkpoint-minutes {params.checkpoint_minutes} --out {output}",
            rule="transfer_examples",
            publish=True,
        )


# The target network's predictions on those examples (half_b for Fig. 9, the distilled network for Fig. 10).
rule transfer_predict:
    input:
        examples=rules.transfer_examples.output,
        model=result("model", ".keras", name="{model}"),
    output:
        f"{RESULTS}/transfer/{{dataset}}/half_a_to_{{model}}.npz",
    log:
        f"{RESULTS}/logs/transfer_predict_{{dataset}}_{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/transfer_predict_{{dataset}}_{{model}}.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    shell:
        step(
            "cw-distillation transfer-predict --dataset {wildcards.dataset} --examples {input.examples}"
            " --model {input.model} --out {output}",
            rule="transfer_predict",
        )

# Every attack is `cw-distillation attack` (src/cw_distillation/steps/attacking.py); the {attack}
# wildcard names a variant (see attack_spec in common.smk): l2, jsma_f, fgs_divT, lbfgs_cw, l2_random, ...


# One attack on one network: the first N test images it (and, paired, the network it is compared with) classifies
# correctly, all targets (or a random one).
rule attack:
    input:
        data=rules.prepare.output,
        model=f"{RESULTS}/models/{{dataset}}/{{model}}.keras",
        selectors=image_selectors,
    output:
        result=f"{RESULTS}/attacks/{{dataset}}/{{model}}/{{attack}}.npz",
        summary=f"{RESULTS}/attacks/{{dataset}}/{{model}}/{{attack}}.json",
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
        attack=lambda w: attack_spec(w)[0],
        options=lambda w: json.dumps(attack_spec(w)[1], sort_keys=True),
        targets=lambda w: attack_spec(w)[2],
        n_images=attack_images,
        batch_size=ATTACK_CFG["batch_size"],
        seed=config["seed"],
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
        model=f"{RESULTS}/models/{{dataset}}/{{model}}.keras",
    output:
        f"{RESULTS}/fragility/{{dataset}}/{{model}}.json",
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
        n_images=lambda w: ATTACK_CFG["n_images"][w.dataset],
        temperature=lambda w: model_temperature(w.model),
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
        model=f"{RESULTS}/models/{{dataset}}/half_a.keras",
    output:
        f"{RESULTS}/transfer/{{dataset}}/half_a_examples.npz",
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
        kappas=" ".join(str(k) for k in config["transfer"]["kappas"]),
        n_images=config["transfer"]["n_images"],
        targets=config["transfer"]["targets"],
        seed=config["seed"],
        options=json.dumps(
            {
                **ATTACK_CFG["l2"],
                "max_iterations": config["transfer"]["max_iterations"],
            },
            sort_keys=True,
        ),
        batch_size=ATTACK_CFG["batch_size"],
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
        model=f"{RESULTS}/models/{{dataset}}/{{model}}.keras",
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

# Every attack is `cw-distillation attack` (src/cw_distillation/steps/attacking.py); the {attack}
# wildcard names a variant (see attack_spec in common.smk): l2, jsma_f, fgs_divT, lbfgs_cw, l2_random, ...


# One attack on one network: the first N correctly classified test images, all targets (or a random one).
rule attack:
    input:
        data=rules.prepare.output,
        model=f"{RESULTS}/models/{{dataset}}/{{model}}.keras",
    output:
        result=f"{RESULTS}/attacks/{{dataset}}/{{model}}/{{attack}}.npz",
        summary=f"{RESULTS}/attacks/{{dataset}}/{{model}}/{{attack}}.json",
    log:
        f"{RESULTS}/logs/attack_{{dataset}}_{{model}}_{{attack}}.log",
    conda:
        CONDA_ENV
    resources:
        mem_mb=res("attack")["mem_mb"],
        runtime=res("attack")["runtime"],
        cpus_per_task=res("attack")["cpus_per_task"],
        gpu=res("attack")["gpu"],
    params:
        attack=lambda w: attack_spec(w)[0],
        options=lambda w: json.dumps(attack_spec(w)[1], sort_keys=True),
        targets=lambda w: attack_spec(w)[2],
        n_images=attack_images,
        batch_size=ATTACK_CFG["batch_size"],
        seed=config["seed"],
    shell:
        "cw-distillation attack --attack {params.attack} --options '{params.options}' --targets {params.targets}"
        " --dataset {wildcards.dataset} --data {input.data} --model {input.model} --n-images {params.n_images}"
        " --batch-size {params.batch_size} --seed {params.seed} --out {output.result} --summary {output.summary}"
        " --rule attack --wildcards dataset={wildcards.dataset},model={wildcards.model},attack={wildcards.attack}"
        " 2>&1 | tee {log}"

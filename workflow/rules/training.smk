# Every training step is `cw-distillation train` (src/cw_distillation/steps/training.py);
# an interrupted training resumes from its last finished epoch (per-epoch checkpoints).


# A standard network: hard labels at T = 1.
rule train_standard:
    input:
        data=rules.prepare.output,
    output:
        model=result("model", ".keras", name="standard"),
        metrics=result("model", ".json", name="standard"),
    log:
        f"{RESULTS}/logs/train_{{dataset}}_standard.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_{{dataset}}_standard.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("train"),
    params:
        **training("standard"),
        publish=publish,
        split=split_flags,
        seed=train_seed,
        resume=resume,
    shell:
        "{params.resume}"
        + step(
            "cw-distillation train --role standard --dataset {wildcards.dataset} --data {input.data} {params.split}"
            " --epochs {params.epochs} --batch-size {params.batch_size} --seed {params.seed}"
            " --checkpoint-dir {params.checkpoints} --out {output.model} --metrics {output.metrics}",
            rule="train_standard",
            publish=True,
        )


# Two standard networks on disjoint halves of the training images (source and target of Fig. 9).
rule train_half:
    input:
        data=rules.prepare.output,
    output:
        model=result("model", ".keras", name="half_{half}"),
        metrics=result("model", ".json", name="half_{half}"),
    log:
        f"{RESULTS}/logs/train_{{dataset}}_half_{{half}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_{{dataset}}_half_{{half}}.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("train"),
    params:
        **training("half_{half}"),
        publish=publish,
        split=split_flags,
        seed=train_seed,
        resume=resume,
    shell:
        "{params.resume}"
        + step(
            "cw-distillation train --role half --half {wildcards.half} --dataset {wildcards.dataset} --data {input.data}"
            " {params.split} --epochs {params.epochs} --batch-size {params.batch_size} --seed {params.seed}"
            " --checkpoint-dir {params.checkpoints} --out {output.model} --metrics {output.metrics}",
            rule="train_half",
            publish=True,
        )


# Distillation, step 0 (the reference's): one epoch from scratch at T = 1; starts teacher and student.
# (--epochs says what runs: the init role always trains jobs.INIT_EPOCHS, one, and its manifest records it;
# written into the shell text, not a param, so that the params Snakemake recorded stay the same.)
rule train_init:
    input:
        data=rules.prepare.output,
    output:
        model=result("model", ".keras", name="init"),
        metrics=result("model", ".json", name="init"),
    log:
        f"{RESULTS}/logs/train_{{dataset}}_init.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_{{dataset}}_init.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("train"),
    params:
        publish=publish,
        split=split_flags,
        batch_size=setting("model", "batch_size", name="init"),
        seed=train_seed,
    shell:
        step(
            "cw-distillation train --role init --dataset {wildcards.dataset} --data {input.data} {params.split}"
            f" --epochs {jobs.INIT_EPOCHS} --batch-size {{params.batch_size}} --seed {{params.seed}}"
            " --out {output.model} --metrics {output.metrics}",
            rule="train_init",
            publish=True,
        )


# Distillation, step 1: the teacher, trained at temperature T on the hard labels.
rule train_teacher:
    input:
        data=rules.prepare.output,
        init=rules.train_init.output.model,
    output:
        model=result("model", ".keras", name="teacher_T{temperature}"),
        metrics=result("model", ".json", name="teacher_T{temperature}"),
    log:
        f"{RESULTS}/logs/train_{{dataset}}_teacher_T{{temperature}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_{{dataset}}_teacher_T{{temperature}}.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("train"),
    params:
        **training("teacher_T{temperature}"),
        publish=publish,
        split=split_flags,
        seed=train_seed,
        resume=resume,
    shell:
        "{params.resume}"
        + step(
            "cw-distillation train --role teacher --temperature {wildcards.temperature} --dataset {wildcards.dataset}"
            " --data {input.data} --init {input.init} {params.split} --epochs {params.epochs}"
            " --batch-size {params.batch_size} --seed {params.seed} --checkpoint-dir {params.checkpoints}"
            " --out {output.model} --metrics {output.metrics}",
            rule="train_teacher",
            publish=True,
        )


# Distillation, step 2: the training images relabelled with the teacher's softmax(Z/T).
rule soft_labels:
    input:
        data=rules.prepare.output,
        teacher=rules.train_teacher.output.model,
    output:
        f"{RESULTS}/soft_labels/{{dataset}}/T{{temperature}}.npz",
    log:
        f"{RESULTS}/logs/soft_labels_{{dataset}}_T{{temperature}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/soft_labels_{{dataset}}_T{{temperature}}.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("train"),
    params:
        split=split_flags,
    shell:
        step(
            "cw-distillation soft-labels --dataset {wildcards.dataset} --data {input.data} {params.split}"
            " --teacher {input.teacher} --temperature {wildcards.temperature} --out {output}",
            rule="soft_labels",
        )


# Distillation, step 3: the student (same shape), from the same init, trained at T on the soft labels.
# Step 4, testing at T = 1, is every later use of its raw logits.
rule train_distilled:
    input:
        data=rules.prepare.output,
        init=rules.train_init.output.model,
        soft_labels=rules.soft_labels.output,
    output:
        model=result("model", ".keras", name="distilled_T{temperature}"),
        metrics=result("model", ".json", name="distilled_T{temperature}"),
    log:
        f"{RESULTS}/logs/train_{{dataset}}_distilled_T{{temperature}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_{{dataset}}_distilled_T{{temperature}}.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("train"),
    params:
        **training("distilled_T{temperature}"),
        publish=publish,
        split=split_flags,
        seed=train_seed,
        resume=resume,
    shell:
        "{params.resume}"
        + step(
            "cw-distillation train --role student --temperature {wildcards.temperature} --dataset {wildcards.dataset}"
            " --data {input.data} --init {input.init} --soft-labels {input.soft_labels} {params.split}"
            " --epochs {params.epochs} --batch-size {params.batch_size} --seed {params.seed}"
            " --checkpoint-dir {params.checkpoints} --out {output.model} --metrics {output.metrics}",
            rule="train_distilled",
            publish=True,
        )


# A network's logits on the test set (for the statistics of Section VIII.A).
rule logits:
    input:
        data=rules.prepare.output,
        model=result("model", ".keras", name="{model}"),
    output:
        result("logits", ".npz"),
    log:
        f"{RESULTS}/logs/logits_{{dataset}}_{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/logits_{{dataset}}_{{model}}.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    params:
        publish=publish,
    shell:
        step(
            "cw-distillation logits --dataset {wildcards.dataset} --data {input.data} --model {input.model}"
            " --out {output}",
            rule="logits",
            publish=True,
        )

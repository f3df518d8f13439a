# Tiny synthetic stand-ins in the official formats (tiny profile only).
rule synthesize:
    output:
        registry=f"{RESULTS}/synthetic/{{dataset}}.registry.json",
        mirror=directory(f"{RESULTS}/synthetic/{{dataset}}"),
    log:
        f"{RESULTS}/logs/synthesize_{{dataset}}.log",
    conda:
        CONDA_ENV
    resources:
        mem_mb=res("light")["mem_mb"],
        runtime=res("light")["runtime"],
        cpus_per_task=res("light")["cpus_per_task"],
    params:
        n_train=config["data"]["synthetic"]["n_train"],
        n_test=config["data"]["synthetic"]["n_test"],
        seed=config["seed"],
    shell:
        "cw-distillation synthesize --dataset {wildcards.dataset} --out-dir $(dirname {output.registry})"
        " --n-train {params.n_train} --n-test {params.n_test} --seed {params.seed}"
        " --rule synthesize --wildcards dataset={wildcards.dataset} 2>&1 | tee {log}"


# The official files (or a mirror of them), each verified by SHA-256.
rule download:
    input:
        unpack(download_source),
    output:
        directory(f"{RESULTS}/raw/{{dataset}}"),
    log:
        f"{RESULTS}/logs/download_{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/download_{{dataset}}.tsv"
    conda:
        CONDA_ENV
    resources:
        mem_mb=res("light")["mem_mb"],
        runtime=res("light")["runtime"],
        cpus_per_task=res("light")["cpus_per_task"],
    params:
        source=download_flags,
        retries=config["data"]["retries"],
        backoff_s=config["data"]["backoff_s"],
        timeout_s=config["data"]["timeout_s"],
    shell:
        "cw-distillation download --dataset {wildcards.dataset} --out-dir {output} {params.source}"
        " --retries {params.retries} --backoff-s {params.backoff_s} --timeout-s {params.timeout_s}"
        " --rule download --wildcards dataset={wildcards.dataset} 2>&1 | tee {log}"


# Parsed arrays, uint8, in the official order.
rule prepare:
    input:
        rules.download.output,
    output:
        f"{RESULTS}/data/{{dataset}}.npz",
    log:
        f"{RESULTS}/logs/prepare_{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_{{dataset}}.tsv"
    conda:
        CONDA_ENV
    resources:
        mem_mb=res("light")["mem_mb"],
        runtime=res("light")["runtime"],
        cpus_per_task=res("light")["cpus_per_task"],
    shell:
        "cw-distillation prepare --dataset {wildcards.dataset} --raw-dir {input} --out {output}"
        " --rule prepare --wildcards dataset={wildcards.dataset} 2>&1 | tee {log}"

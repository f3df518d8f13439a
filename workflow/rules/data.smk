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
        **res("light"),
    params:
        n_train=config["data"]["synthetic"]["n_train"],
        n_test=config["data"]["synthetic"]["n_test"],
        seed=config["seed"],
    shell:
        step(
            "cw-distillation synthesize --dataset {wildcards.dataset} --out-dir $(dirname {output.registry})"
            " --n-train {params.n_train} --n-test {params.n_test} --seed {params.seed}",
            rule="synthesize",
        )


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
        **res("light"),
    params:
        source=download_flags,
        retries=config["data"]["retries"],
        backoff_s=config["data"]["backoff_s"],
        timeout_s=config["data"]["timeout_s"],
    shell:
        step(
            "cw-distillation download --dataset {wildcards.dataset} --out-dir {output} {params.source}"
            " --retries {params.retries} --backoff-s {params.backoff_s} --timeout-s {params.timeout_s}",
            rule="download",
        )


# Parsed arrays, uint8, in the official order.
rule prepare:
    input:
        rules.download.output,
    output:
        result("data", ".npz"),
    log:
        f"{RESULTS}/logs/prepare_{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_{{dataset}}.tsv"
    conda:
        CONDA_ENV
    resources:
        **res("light"),
    shell:
        step(
            "cw-distillation prepare --dataset {wildcards.dataset} --raw-dir {input} --out {output}",
            rule="prepare",
        )

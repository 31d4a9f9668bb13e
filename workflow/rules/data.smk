# Data steps: raw dataset folder -> pairs.h5 (BOW, labels, split) -> features.h5 (image
# features from a backbone, or imported from .mat files).


rule download:
    input:
        code("scripts/download.py"),
    output:
        raw=directory(RAW),
    params:
        cfg=section("download", "{dataset}"),
    log:
        "logs/download/{dataset}.log",
    shell:
        "python scripts/download.py --dataset {wildcards.dataset} --out {output.raw} --log {log}"


rule prepare:
    input:
        code("scripts/prepare.py"),
        raw=RAW,
    output:
        pairs=PAIRS,
    params:
        cfg=section("prepare", "{dataset}"),
    log:
        "logs/prepare/{dataset}.log",
    shell:
        "python scripts/prepare.py --dataset {wildcards.dataset} --raw {input.raw} --out {output.pairs} --log {log}"


rule extract:
    input:
        code("scripts/extract.py"),
        raw=RAW,
        pairs=PAIRS,
    output:
        features=FEATURES,
    params:
        cfg=lambda wildcards: extract_config(PARAMS, wildcards.dataset),
    threads: lambda wildcards: extract_config(PARAMS, wildcards.dataset)["num_threads"]
    log:
        "logs/extract/{dataset}.log",
    benchmark:
        "benchmarks/runs/extract/{dataset}.tsv"
    shell:
        "python scripts/extract.py --dataset {wildcards.dataset} --raw {input.raw} --pairs {input.pairs} --out {output.features} --log {log}"

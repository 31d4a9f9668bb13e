# Data steps: raw dataset folder -> pairs.h5 (BOW, labels, split) -> features.h5 (image
# features from a backbone, or imported from .mat files). Paths, logs and command lines come
# from the pipeline's declaration (sgrn/workflow/pipeline.py), which dvc.yaml is generated from too.


rule download:
    input:
        code("download"),
    output:
        raw=directory(P["raw"]),
    params:
        cfg=section("download", "{dataset}"),
    log:
        step_log("download"),
    shell:
        snakemake_shell("download")


rule prepare:
    input:
        code("prepare"),
        raw=P["raw"],
    output:
        pairs=P["pairs"],
    params:
        cfg=section("prepare", "{dataset}"),
    log:
        step_log("prepare"),
    shell:
        snakemake_shell("prepare")


rule extract:
    input:
        code("extract"),
        raw=P["raw"],
        pairs=P["pairs"],
    output:
        features=P["features"],
    params:
        cfg=lambda wildcards: extract_config(PARAMS, wildcards.dataset),
    threads: lambda wildcards: extract_config(PARAMS, wildcards.dataset)["num_threads"]
    log:
        step_log("extract"),
    benchmark:
        STEPS["extract"].benchmark
    shell:
        snakemake_shell("extract")

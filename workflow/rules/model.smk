# Model steps, one job per dataset x method x config x bits x seed: train -> encode -> evaluate.
# Paths, logs and command lines come from the pipeline's declaration (sgrn/workflow/pipeline.py).


# evaluate takes seconds: on a cluster it runs on the submit host, not as a SLURM job.
localrules:
    evaluate,


rule train:
    input:
        train_code,
        features=P["features"],
    output:
        model=P["model"],
        summary=P["live_summary"],
        curves=directory(P["live_plots"]),
    params:
        train=section("train"),
        method=run_hyperparams,
    # as many cores as the torch threads it uses: with 1 (the default), `--cores N` trains N
    # small models side by side, which beats one model on N threads at these sizes
    threads: PARAMS["train"]["num_threads"]
    # The GPU share of one train job (README "Several runs on one GPU"): `--resources
    # gpu_slots=N` lets N train jobs share a GPU; `--set-resources train:gpu_slots=2` gives
    # each one two slots. Without --resources the share is not counted (the CPU case).
    resources:
        gpu_slots=1,
    log:
        step_log("train"),
    benchmark:
        STEPS["train"].benchmark
    shell:
        snakemake_shell("train")


rule encode:
    input:
        code("encode"),
        features=P["features"],
        model=P["model"],
    output:
        codes=P["codes"],
    params:
        device=section("train", "device"),
        threads=section("train", "num_threads"),
    log:
        step_log("encode"),
    shell:
        snakemake_shell("encode")


rule evaluate:
    input:
        code("evaluate"),
        codes=P["codes"],
    output:
        metrics=P["evaluation"],
    params:
        cfg=section("evaluate"),
    log:
        step_log("evaluate"),
    shell:
        snakemake_shell("evaluate")

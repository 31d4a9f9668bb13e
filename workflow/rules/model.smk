# Model steps, one job per dataset x method x bits x seed: train -> encode -> evaluate.


# evaluate takes seconds: on a cluster it runs on the submit host, not as a SLURM job.
localrules:
    evaluate,


rule train:
    input:
        code("scripts/train.py"),
        features=FEATURES,
    output:
        model=f"{RUN}/model.pt",
        summary=f"{RUN}/live/metrics.json",
        curves=directory(f"{RUN}/live/plots/metrics"),
    params:
        train=section("train"),
        method=run_hyperparams,
        live=lambda wildcards, output: os.path.dirname(output.summary),
    # as many cores as the torch threads it uses: with 1 (the default), `--cores N` trains N
    # small models side by side, which beats one model on N threads at these sizes
    threads: PARAMS["train"]["num_threads"]
    # The GPU share of one train job (README "Several runs on one GPU"): `--resources
    # gpu_slots=N` lets N train jobs share a GPU; `--set-resources train:gpu_slots=2` gives
    # each one two slots. Without --resources the share is not counted (the CPU case).
    resources:
        gpu_slots=1,
    log:
        "logs/train/{dataset}/{method}/c{config}/b{bits}/s{seed}.log",
    benchmark:
        "benchmarks/runs/train/{dataset}/{method}/c{config}/b{bits}/s{seed}.tsv"
    shell:
        "python scripts/train.py --dataset {wildcards.dataset} --method {wildcards.method} --config {wildcards.config} --bits {wildcards.bits} --seed {wildcards.seed} --features {input.features} --out {output.model} --live {params.live} --log {log}"


rule encode:
    input:
        code("scripts/encode.py"),
        features=FEATURES,
        model=f"{RUN}/model.pt",
    output:
        codes=f"{RUN}/codes.h5",
    params:
        device=section("train", "device"),
        threads=section("train", "num_threads"),
    log:
        "logs/encode/{dataset}/{method}/c{config}/b{bits}/s{seed}.log",
    shell:
        "python scripts/encode.py --dataset {wildcards.dataset} --method {wildcards.method} --bits {wildcards.bits} --features {input.features} --model {input.model} --out {output.codes} --log {log}"


rule evaluate:
    input:
        code("scripts/evaluate.py"),
        codes=f"{RUN}/codes.h5",
    output:
        metrics=EVALUATION,
    params:
        cfg=section("evaluate"),
    log:
        "logs/evaluate/{dataset}/{method}/c{config}/b{bits}/s{seed}.log",
    shell:
        "python scripts/evaluate.py --codes {input.codes} --out {output.metrics} --log {log}"

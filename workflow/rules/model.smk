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
        method=section("method_params", "{method}"),
        live=lambda wildcards, output: os.path.dirname(output.summary),
    threads: 2
    log:
        "logs/train/{dataset}/{method}/b{bits}/s{seed}.log",
    benchmark:
        "benchmarks/runs/train/{dataset}/{method}/b{bits}/s{seed}.tsv"
    shell:
        "python scripts/train.py --dataset {wildcards.dataset} --method {wildcards.method} --bits {wildcards.bits} --seed {wildcards.seed} --features {input.features} --out {output.model} --live {params.live} --log {log}"


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
        "logs/encode/{dataset}/{method}/b{bits}/s{seed}.log",
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
        "logs/evaluate/{dataset}/{method}/b{bits}/s{seed}.log",
    shell:
        "python scripts/evaluate.py --codes {input.codes} --out {output.metrics} --log {log}"

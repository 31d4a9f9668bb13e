# Report: the aggregated metrics, a one-number-per-run summary (for `dvc exp show`), tables and
# plots; and per run, its learning curves. Outputs marked report(...) go into `snakemake --report`.


localrules:
    report,
    curves,


rule report:
    input:
        code("scripts/report.py"),
        evaluations=all_evaluations(),
    output:
        metrics="results/metrics.json",
        summary="results/summary.json",
        tables=report(directory("results/tables"), patterns=["{name}.html"], caption="../report/tables.rst",
                      category="Tables"),
        plots=report(directory("results/plots"), patterns=["{name}.png"], caption="../report/plots.rst",
                     category="Plots"),
    params:
        lists=lambda w: {k: PARAMS[k] for k in ("datasets", "methods", "bits", "seeds")},
        cfg=section("report"),
    log:
        "logs/report.log",
    shell:
        "python scripts/report.py --evaluations results/evaluation --metrics {output.metrics} --summary {output.summary} --tables {output.tables} --plots {output.plots} --log {log}"


rule curves:
    input:
        code("scripts/curves.py"),
        live_plots=f"{RUN}/live/plots/metrics",
    output:
        curves=report(f"{RUN}/curves.png", caption="../report/curves.rst", category="Learning curves",
                      subcategory="{dataset} {method}", labels={"bits": "{bits}", "seed": "{seed}"}),
    log:
        "logs/curves/{dataset}/{method}/b{bits}/s{seed}.log",
    shell:
        "python scripts/curves.py --dataset {wildcards.dataset} --method {wildcards.method} --bits {wildcards.bits} --seed {wildcards.seed} --live-plots {input.live_plots} --out {output.curves} --log {log}"

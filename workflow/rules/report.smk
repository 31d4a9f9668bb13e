# Model selection, then the report: the aggregated metrics, a one-number-per-run summary (for
# `dvc exp show`), tables and plots of the chosen configurations; and per run, its learning
# curves. Outputs marked report(...) go into `snakemake --report`.


localrules:
    select,
    report,
    curves,


rule select:
    input:
        code("scripts/model_selection.py"),
        evaluations=all_evaluations(),
    output:
        selection=SELECTION,
    params:
        lists=lambda w: {k: PARAMS[k] for k in ("datasets", "methods", "configs", "bits", "seeds")},
        follow=PARAMS["search"]["follow"],
    log:
        "logs/select.log",
    shell:
        "python scripts/model_selection.py --evaluations results/evaluation --out {output.selection} --log {log}"


rule report:
    input:
        code("scripts/report.py"),
        evaluations=all_evaluations(),
        selection=SELECTION,
    output:
        metrics="results/metrics.json",
        summary="results/summary.json",
        tables=report(directory("results/tables"), patterns=["{name}.html"], caption="../report/tables.rst",
                      category="Tables"),
        plots=report(directory("results/plots"), patterns=["{name}.png"], caption="../report/plots.rst",
                     category="Plots"),
    params:
        lists=lambda w: {k: PARAMS[k] for k in ("datasets", "methods", "configs", "bits", "seeds")},
        cfg=section("report"),
        search=section("search"),
    log:
        "logs/report.log",
    shell:
        "python scripts/report.py --evaluations results/evaluation --selection {input.selection} --metrics {output.metrics} --summary {output.summary} --tables {output.tables} --plots {output.plots} --log {log}"


rule curves:
    input:
        code("scripts/curves.py"),
        live_plots=f"{RUN}/live/plots/metrics",
    output:
        curves=report(f"{RUN}/curves.png", caption="../report/curves.rst", category="Learning curves",
                      subcategory="{dataset} {method}",
                      labels={"config": "c{config}", "bits": "{bits}", "seed": "{seed}"}),
    log:
        "logs/curves/{dataset}/{method}/c{config}/b{bits}/s{seed}.log",
    shell:
        "python scripts/curves.py --dataset {wildcards.dataset} --method {wildcards.method} --config {wildcards.config} --bits {wildcards.bits} --seed {wildcards.seed} --live-plots {input.live_plots} --out {output.curves} --log {log}"

# Report: the aggregated metrics, a one-number-per-run summary (for `dvc exp show`), tables and plots.


localrules:
    report,


rule report:
    input:
        code("scripts/report.py"),
        evaluations=all_evaluations(),
    output:
        metrics="results/metrics.json",
        summary="results/summary.json",
        tables=directory("results/tables"),
        plots=directory("results/plots"),
    params:
        lists=lambda w: {k: PARAMS[k] for k in ("datasets", "methods", "bits", "seeds")},
        cfg=section("report"),
    log:
        "logs/report.log",
    shell:
        "python scripts/report.py --evaluations results/evaluation --metrics {output.metrics} --summary {output.summary} --tables {output.tables} --plots {output.plots} --log {log}"

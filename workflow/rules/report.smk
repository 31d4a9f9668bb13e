# Report: one aggregated metrics file (for `dvc exp show`), tables and plots.


localrules:
    select,
    report,


rule select:
    input:
        code("scripts/model_selection.py", "sgrn/selection.py", "sgrn/report.py"),
        evaluations=all_evaluations(),
    output:
        selection=SELECTION,
    params:
        lists=lambda w: {k: PARAMS[k] for k in ("datasets", "methods", "configs", "bits", "seeds")},
    log:
        "logs/select.log",
    shell:
        "python scripts/model_selection.py --evaluations results/evaluation --out {output.selection} --log {log}"


rule report:
    input:
        code("scripts/report.py", "sgrn/report.py", "sgrn/selection.py"),
        evaluations=all_evaluations(),
        selection=SELECTION,
    output:
        metrics="results/metrics.json",
        tables=directory("results/tables"),
        plots=directory("results/plots"),
    params:
        lists=lambda w: {k: PARAMS[k] for k in ("datasets", "methods", "configs", "bits", "seeds")},
        cfg=section("report"),
        search=section("search"),
    log:
        "logs/report.log",
    shell:
        "python scripts/report.py --evaluations results/evaluation --selection {input.selection} --metrics {output.metrics} --tables {output.tables} --plots {output.plots} --log {log}"

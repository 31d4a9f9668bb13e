# Model selection, then the report: the aggregated metrics, a one-number-per-run summary (for
# `dvc exp show`), tables and plots of the chosen configurations; and per run, its learning
# curves. Outputs marked report(...) go into `snakemake --report`.


localrules:
    select,
    report,
    curves,


if SELECT_BITS is not None:

    # search.select_bits: the candidates are chosen at that length first; the other lengths
    # train only the chosen one, which all_runs() reads from this checkpoint's output.
    localrules:
        choose,

    checkpoint choose:
        input:
            code("select"),
            evaluations=runs_at("evaluation", [SELECT_BITS]),
        output:
            choice=P["choice"],
        params:
            lists=lambda w: {k: PARAMS[k] for k in ("datasets", "methods", "configs", "seeds")},
            follow=PARAMS["search"]["follow"],
            bits=SELECT_BITS,
        log:
            "logs/choose.log",
        # the select step's declared command line, writing the choice at one length
        shell:
            STEPS["select"].command(lambda name: P["choice"] if name == "selection" else P[name], log="{log}")
            + " --bits {params.bits}"


rule select:
    input:
        code("select"),
        evaluations=all_runs("evaluation"),
    output:
        selection=P["selection"],
    params:
        lists=lambda w: {k: PARAMS[k] for k in ("datasets", "methods", "configs", "bits", "seeds")},
        follow=PARAMS["search"]["follow"],
        select_bits=SELECT_BITS,
    log:
        step_log("select"),
    shell:
        snakemake_shell("select")


rule report:
    input:
        code("report"),
        evaluations=all_runs("evaluation"),
        selection=P["selection"],
    output:
        metrics=P["metrics"],
        summary=P["summary"],
        tables=report(directory(P["tables"]), patterns=["{name}.html"], caption="../report/tables.rst",
                      category="Tables"),
        plots=report(directory(P["plots"]), patterns=["{name}.png"], caption="../report/plots.rst",
                     category="Plots"),
    params:
        lists=lambda w: {k: PARAMS[k] for k in ("datasets", "methods", "configs", "bits", "seeds")},
        cfg=section("report"),
        search=section("search"),
    log:
        step_log("report"),
    shell:
        snakemake_shell("report")


rule curves:
    input:
        code("curves"),
        live_plots=P["live_plots"],
    output:
        curves=report(P["curves"], caption="../report/curves.rst", category="Learning curves",
                      subcategory="{dataset} {method}",
                      labels={"config": "c{config}", "bits": "{bits}", "seed": "{seed}"}),
    log:
        step_log("curves"),
    shell:
        snakemake_shell("curves")

# Snakemake discovers this root file first; the workflow itself is workflow/Snakefile.
# The default target lives here because Snakemake ignores `default_target` in included files.
include: "workflow/Snakefile"


rule all:
    default_target: True
    input:
        REPORT_OUTPUTS,
        all_runs("curves"),

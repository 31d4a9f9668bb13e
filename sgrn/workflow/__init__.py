"""The workflow's own code: the pipeline declared once, dvc.yaml generated from it, code dependencies,
model selection's evaluations, the report and the learning curves."""

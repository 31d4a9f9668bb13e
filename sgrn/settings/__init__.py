"""params.yaml: loading and schema checks (paramfile), method blocks and the search space checked
whole (params), and one run's hyper-parameters resolved (resolve)."""

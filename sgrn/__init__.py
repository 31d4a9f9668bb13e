"""SGRN unsupervised cross-modal hashing.

The package is laid out in rooms, in the order the data flows; a module imports only from its
own room or a room listed before it (tests/test_layout.py checks it):

    data/       dataset adapters: demo, MIRFlickr list format, .mat import, BOW, splits
    features/   image backbones and feature extraction
    files/      files on disk: atomic writes, HDF5, the features file, logs
    hparams/    per-family hyper-parameter tables (torch-free)
    graphs.py   similarity graphs: cosine, kNN, LRGR, joint graph, GRGR (pure tensor functions)
    methods/    SGRN and the baselines: target graphs and losses
    settings/   params.yaml: loading, checks, and one run's hyper-parameters resolved
    retrieval/  sign, packing, Hamming ranking over packed codes, and the metrics
    training/   hash nets, the training loop, checkpoints, devices, encoding to codes
    workflow/   the pipeline's declaration, dvc.yaml generation, code dependencies, report
    query/      `sgrn search` and `sgrn serve`'s page
    cli.py      the step scripts' common entry (logging, errors); __main__.py: the `sgrn` command
"""

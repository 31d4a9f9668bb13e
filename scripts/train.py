#!/usr/bin/env python
"""Step 4, train: one method, code length and seed on the extracted features -> model.pt.

Per-epoch loss terms and validation MAP are logged with dvclive under --live.
"""
from pathlib import Path

from sgrn.cli import parser, run
from sgrn.files.featurefile import open_features
from sgrn.settings.hyperparams import run_hyperparams
from sgrn.settings.params import load_params, params_hash
from sgrn.training.checkpoint import load_train_state, save_checkpoint, save_train_state
from sgrn.training.device import pick_device, use_cuda_graphs
from sgrn.training.train import TrainConfig, train


def main(args, log):
    from dvclive import Live  # here: it loads pandas and dvc, which --help and a bad params.yaml need not wait for

    params = load_params(args.params)
    if args.method not in params["method_params"]:
        raise FileNotFoundError(f"{args.params}: method_params.{args.method} not found "
                                f"(known: {sorted(params['method_params'])})")
    family, hyper = run_hyperparams(params, args.method, args.dataset, args.config)
    cfg = TrainConfig(**params["train"])
    use_cuda_graphs(cfg.cuda_graphs, pick_device(cfg.device))  # refuse what this machine lacks, now
    # Undeclared on purpose: it survives a failed job (which loses its declared outputs).
    state_path = Path(args.out).with_name("train_state.pt")
    with open_features(args.features) as feats:
        run_hash = params_hash(params["train"], hyper, args.bits, args.seed, feats.source)
        resume = load_train_state(state_path, run_hash)
        # Outside `dvc repro`, dvclive must neither rewrite dvc.yaml nor create experiments.
        # The curves start afresh; a resumed run replays its earlier epochs into them.
        with Live(dir=args.live, save_dvc_exp=False, dvcyaml=None, report=None) as live:
            def on_epoch(epoch, record):
                for name, value in record.items():
                    live.log_metric(name, value)
                live.next_step()

            checkpoint = train(feats, family, hyper, args.bits, args.seed, cfg, on_epoch=on_epoch,
                               resume=resume,
                               save_state=lambda state: save_train_state(state_path, run_hash, state))
    checkpoint.update(method=args.method, config=args.config, dataset=args.dataset, params_hash=run_hash)
    save_checkpoint(checkpoint, args.out)
    state_path.unlink(missing_ok=True)
    log.info("%s %s c%d %d bits seed %d: best validation MAP@all %.4f at epoch %d -> %s", args.dataset,
             args.method, args.config, args.bits, args.seed, checkpoint["val_map_all"], checkpoint["best_epoch"],
             args.out)


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--config", required=True, type=int,
                   help="candidate configuration (params.yaml `configs`; 0 = method_params as written)")
    p.add_argument("--bits", required=True, type=int)
    p.add_argument("--seed", required=True, type=int)
    p.add_argument("--features", required=True, help="features.h5 from extract")
    p.add_argument("--out", required=True, help="model.pt to write")
    p.add_argument("--live", required=True, help="dvclive folder for per-epoch curves")
    run(main, p.parse_args())

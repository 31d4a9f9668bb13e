#!/usr/bin/env python
"""Step 5, encode: packed binary codes of queries and database, both modalities -> codes.h5
(with the indices of the validation queries, which are database rows, and the text net's
weights, which `sgrn search` applies to a tag query in numpy)."""
import h5py
import numpy as np

from sgrn.cli import parser, run, set_threads
from sgrn.data.errors import DataError
from sgrn.files.atomic import atomic_path
from sgrn.files.featurefile import open_features
from sgrn.files.h5 import mark_complete, stamp
from sgrn.retrieval.codes import BIT_ORDER
from sgrn.retrieval.textnet import write_text_net
from sgrn.settings.paramfile import load_params
from sgrn.training.checkpoint import load_nets, read_checkpoint
from sgrn.training.device import pick_device
from sgrn.training.encoding import packed_codes


def main(args, log):
    params = load_params(args.params)
    set_threads(params["train"]["num_threads"])
    ckpt = read_checkpoint(args.model, expect={"dataset": args.dataset, "method": args.method,
                                               "bits": args.bits})
    device = pick_device(params["train"]["device"])
    img_net, txt_net = load_nets(ckpt, device)
    with open_features(args.features) as feats, atomic_path(args.out) as tmp, h5py.File(tmp, "w") as f:
        if feats.dims != (ckpt["dims"]["image"], ckpt["dims"]["text"]):
            raise DataError(f"{args.features}: feature dims {feats.dims} differ from the checkpoint's "
                            f"{ckpt['dims']} in {args.model}")
        for side in ("query", "database"):
            idx = np.sort(feats.split[side])
            g = f.create_group(side)
            g.create_dataset("image", data=packed_codes(img_net, feats, "image", idx, device))
            g.create_dataset("text", data=packed_codes(txt_net, feats, "text", idx, device))
            g.create_dataset("labels", data=feats.labels[idx])
            g.create_dataset("index", data=idx)
        validation = feats.split.get("validation")
        if validation is not None and len(validation):
            # which database rows the trainer validated on: evaluate measures them as it did
            f.create_group("validation").create_dataset("index", data=np.sort(validation))
        write_text_net(f, txt_net)  # a tag query then needs neither torch nor model.pt
        n_query, n_database = len(feats.split["query"]), len(feats.split["database"])
        stamp(f, "encode", ckpt["params_hash"], dataset=args.dataset, method=args.method, bits=args.bits,
              seed=ckpt["seed"], config=ckpt.get("config", 0), bit_order=BIT_ORDER,
              best_epoch=ckpt["best_epoch"], val_map_all=ckpt["val_map_all"])
        mark_complete(f)
    log.info("encoded %d queries and %d database items at %d bits -> %s", n_query, n_database,
             args.bits, args.out)


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--method", required=True)
    p.add_argument("--bits", required=True, type=int)
    p.add_argument("--features", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True, help="codes.h5 to write")
    run(main, p.parse_args())

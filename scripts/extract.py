#!/usr/bin/env python
"""Step 3, extract: AlexNet fc7 image features, with text, labels and split -> features.h5."""
import h5py
import torch

from sgrn.atomic import atomic_path
from sgrn.cli import parser, run, set_threads
from sgrn.features.alexnet import FC7_DIM, load_alexnet_fc7
from sgrn.features.extract import extract_to, standardise_columns
from sgrn.features.images import ImageFiles
from sgrn.h5 import mark_complete, open_complete, read_split, stamp, write_split
from sgrn.params import load_params, params_hash
from sgrn.train import pick_device


def main(args, log):
    cfg = load_params(args.params)["extract"]
    set_threads(cfg["num_threads"])
    with open_complete(args.pairs, expect_step="prepare") as pairs:
        paths = [p.decode() if isinstance(p, bytes) else p for p in pairs["image_paths"][()]]
        text, labels, split = pairs["text"][()], pairs["labels"][()], read_split(pairs["split"])
    model, identity = load_alexnet_fc7(cfg["weights"], cfg["weights_seed"])
    device = pick_device("auto")
    with atomic_path(args.out) as tmp, h5py.File(tmp, "w") as f:
        image = f.create_dataset("image", shape=(len(paths), FC7_DIM), dtype="float32",
                                 chunks=(min(len(paths), 256), FC7_DIM))
        rate = extract_to(image, ImageFiles(args.raw, paths), model, cfg["batch_size"], cfg["workers"], device)
        if cfg["standardise"]:
            mean, std = standardise_columns(image, split["train"])
            f.create_dataset("image_mean", data=mean)
            f.create_dataset("image_std", data=std)
        f.create_dataset("text", data=text, compression="gzip")
        f.create_dataset("labels", data=labels)
        write_split(f.create_group("split"), split)
        stamp(f, "extract", params_hash(cfg), dataset=args.dataset, backbone=cfg["backbone"],
              feature="fc7 after ReLU", n_pairs=len(paths),
              image_standardised=cfg["standardise"], text_standardised=False, torch_device=str(device), **identity)
        mark_complete(f)
    log.info("%s: %d images -> %s (%.1f img/s on %s, %d threads)", args.dataset, len(paths), args.out,
             rate, device, torch.get_num_threads())


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--raw", required=True, help="raw list-format folder (image root)")
    p.add_argument("--pairs", required=True, help="pairs.h5 from prepare")
    p.add_argument("--out", required=True, help="features.h5 to write")
    run(main, p.parse_args())

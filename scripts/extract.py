#!/usr/bin/env python
"""Step 3, extract: image features (extract.backbone), with text, labels and split -> features.h5.

Images listed in pairs.h5 are decoded in DataLoader workers and run through the backbone;
features imported from .mat files are copied instead (no backbone). Either way the feature
matrix is written in chunks and never held whole in memory.
"""
import json

import h5py
import numpy as np
import torch

from sgrn.atomic import atomic_path
from sgrn.cli import parser, run, set_threads
from sgrn.data.rawdir import open_raw
from sgrn.device import pick_device
from sgrn.features.backbones import get_backbone
from sgrn.features.extract import copy_features, extract_to, feature_chunks, standardise_columns
from sgrn.h5 import mark_complete, open_complete, read_split, stamp, write_split
from sgrn.paramfile import extract_config, load_params, params_hash


def main(args, log):
    cfg = extract_config(load_params(args.params), args.dataset)
    set_threads(cfg["num_threads"])
    with open_complete(args.pairs, expect_step="prepare") as pairs:
        source = str(pairs.attrs.get("image_source", "files"))
        text, labels, split = pairs["text"][()], pairs["labels"][()], read_split(pairs["split"])
        if source == "files":
            paths = [p.decode() if isinstance(p, bytes) else p for p in pairs["image_paths"][()]]
        else:
            parts = json.loads(pairs.attrs["image_parts"])
            rows = pairs["source_rows"][()]
    n = len(labels)
    device = pick_device("auto")
    info: dict = {}
    with atomic_path(args.out) as tmp, h5py.File(tmp, "w") as f:
        if source == "mat":
            from sgrn.data.matfile import iter_feature_rows

            dim = parts[0]["dim"]
            image = f.create_dataset("image", shape=(n, dim), dtype="float32", chunks=feature_chunks(n, dim))
            copy_features(image, iter_feature_rows(parts, rows))
            info = {"backbone": "none (imported)", "feature": "precomputed, from .mat",
                    "weights": "none", "mat_files": json.dumps(sorted({p["file"] for p in parts})),
                    "mat_keys": json.dumps([p["key"] for p in parts])}
            rate = float("nan")
        else:
            from sgrn.features.images import ArrayImages, ImageFiles

            backbone = get_backbone(cfg["backbone"])
            model, identity = backbone.load(cfg["weights"], cfg["weights_seed"])
            size = cfg["input_size"] or backbone.size
            if source == "files":
                image_root = open_raw(args.raw).image_root
                images = ImageFiles(image_root, paths, size, backbone.mean, backbone.std)
            else:
                images = ArrayImages(parts, rows, size, backbone.mean, backbone.std)
            image = f.create_dataset("image", shape=(n, backbone.dim), dtype="float32",
                                     chunks=feature_chunks(n, backbone.dim))
            rate = extract_to(image, images, model, cfg["batch_size"], cfg["workers"], device)
            info = {"backbone": backbone.name, "feature": backbone.feature,
                    "input": f"{size}x{size}, mean {backbone.mean}, std {backbone.std}",
                    **identity}
        if cfg["standardise"]:
            mean, std = standardise_columns(image, split["train"])
            f.create_dataset("image_mean", data=mean)
            f.create_dataset("image_std", data=std)
        text_std = cfg["standardise_text"]
        if text_std:
            text = text.astype(np.float32)
            t = f.create_dataset("text", data=text, chunks=feature_chunks(n, text.shape[1]))
            mean, std = standardise_columns(t, split["train"])
            f.create_dataset("text_mean", data=mean)
            f.create_dataset("text_std", data=std)
        else:
            f.create_dataset("text", data=text, compression="gzip", chunks=True)
        f.create_dataset("labels", data=labels)
        write_split(f.create_group("split"), split)
        stamp(f, "extract", params_hash(cfg), dataset=args.dataset, n_pairs=n, image_source=source,
              image_standardised=cfg["standardise"], text_standardised=text_std,
              **({} if source == "mat" else {"input_size": size}),
              torch_device=str(device), **info)
        mark_complete(f)
    if source == "mat":
        log.info("%s: %d imported feature rows -> %s", args.dataset, n, args.out)
    else:
        log.info("%s: %d images -> %s (%.1f img/s on %s, %d threads)", args.dataset, n, args.out,
                 rate, device, torch.get_num_threads())


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--raw", required=True, help="raw dataset folder (image root)")
    p.add_argument("--pairs", required=True, help="pairs.h5 from prepare")
    p.add_argument("--out", required=True, help="features.h5 to write")
    run(main, p.parse_args())

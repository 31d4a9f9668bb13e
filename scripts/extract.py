#!/usr/bin/env python
"""Step 3, extract: image features (extract.backbone), with text, labels and split -> features.h5.

Images listed in pairs.h5 are decoded in DataLoader workers and run through the backbone;
features imported from .mat files are copied instead (no backbone). Either way the feature
matrix is written in chunks and never held whole in memory. The text is the bag of words of
pairs.h5, or topic vectors reduced from it (extract.text: lda | svd, fitted on training rows).
"""
import json

import h5py
import numpy as np
import torch

from sgrn.cli import parser, run, set_threads
from sgrn.data.errors import DataError
from sgrn.data.rawdir import open_raw
from sgrn.features.backbones import get_backbone
from sgrn.features.extract import copy_features, extract_to, feature_chunks, standardise_columns
from sgrn.features.topics import reducer_name, topic_vectors
from sgrn.files.atomic import atomic_path
from sgrn.files.h5 import mark_complete, open_complete, read_split, stamp, write_split
from sgrn.settings.paramfile import extract_config, load_params, params_hash
from sgrn.training.device import pick_device


def extract_key(params: dict, dataset: str, key: str) -> str:
    """The params key that sets extract's ``key`` on ``dataset``: its per_dataset entry, else the section's."""
    own = params["extract"]["per_dataset"].get(dataset, {})
    return f"extract.per_dataset.{dataset}.{key}" if key in own else f"extract.{key}"


def text_features(args, params: dict, cfg: dict, text: np.ndarray, train_rows: np.ndarray, log):
    """(text features, topic components or None, attributes): what extract.text asks for."""
    kind = cfg["text"]
    if kind == "bow":
        return text, None, {"text_features": "bow"}
    if text.dtype != np.uint8:
        raise DataError(f"{args.pairs}: dataset 'text' is {text.dtype} (imported dense features); "
                        f"{extract_key(params, args.dataset, 'text')}: {kind} expected the 0/1 bag of "
                        "words of prepare (use text: bow)")
    try:
        vectors, components = topic_vectors(text, train_rows, kind, cfg["text_dim"], cfg["text_seed"])
    except ValueError as err:
        raise DataError(f"{args.params}: {extract_key(params, args.dataset, 'text_dim')}: {err} "
                        f"({args.pairs})") from None
    log.info("%s: text reduced to %d %s topics, fitted on the %d training rows", args.dataset,
             cfg["text_dim"], kind, len(train_rows))
    return vectors, components, {"text_features": kind, "text_dim": cfg["text_dim"],
                                 "text_seed": cfg["text_seed"], "text_fitted_on": f"train ({len(train_rows)} rows)",
                                 "text_vocabulary": text.shape[1], "text_reducer": reducer_name(kind)}


def main(args, log):
    params = load_params(args.params)
    cfg = extract_config(params, args.dataset)
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
    text, components, text_info = text_features(args, params, cfg, text, split["train"], log)
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
        if components is not None:
            f.create_dataset("text_components", data=components)
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
              torch_device=str(device), **info, **text_info)
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

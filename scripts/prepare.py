#!/usr/bin/env python
"""Step 2, prepare: vocabulary, bag of words, labels and the saved query/train split -> pairs.h5.

List-format datasets give the image paths for the extract step; .mat datasets give their
text and labels here and record where the image features (or pixels) are, so that extract
copies them instead of running a backbone. Rows dropped here (params say which) are counted
in the log and in the attributes of pairs.h5.
"""
import json

import h5py
import numpy as np

from sgrn.cli import parser, run
from sgrn.data.bow import bag_of_words, build_vocab
from sgrn.data.errors import DataError
from sgrn.data.rawdir import open_raw
from sgrn.data.splits import describe_split, split_from_params
from sgrn.files.atomic import atomic_path
from sgrn.files.h5 import mark_complete, stamp, write_split
from sgrn.settings.paramfile import load_params, params_hash


def drop_rows(keep, *arrays):
    return [a[keep] if isinstance(a, np.ndarray) else [a[i] for i in np.flatnonzero(keep)]
            for a in arrays]


def from_list(raw, cfg, log):
    from sgrn.data.listformat import read_list_dataset

    data = read_list_dataset(raw.root, image_root=raw.image_root, missing_images=cfg["missing_images"],
                             rows_without_label=cfg["rows_without_label"], text=cfg["text"])
    counts = {"skipped_missing_images": data.skipped_missing_images,
              "skipped_without_label": data.skipped_without_label}
    paths, tags, labels, rows = data.image_paths, data.tags, data.labels, data.rows
    if cfg["bad_images"] == "skip":
        from sgrn.data.listformat import check_image

        ok = np.ones(len(paths), dtype=bool)
        for i, p in enumerate(paths):
            problem = check_image(raw.image_root / p)
            if problem:
                ok[i] = False
                log.warning("all_imgs.txt line %d: %s: %s; row skipped", rows[i] + 1, p, problem)
        counts["skipped_bad_images"] = int((~ok).sum())
        paths, tags, labels, rows = drop_rows(ok, paths, tags, labels, rows)
    vocab = data.vocab if data.vocab is not None else build_vocab(tags, cfg["min_tag_count"])
    bow = bag_of_words(tags, vocab)
    empty = ~bow.any(axis=1)
    if empty.any():
        if cfg["rows_without_tags"] == "error":
            first = int(np.flatnonzero(empty)[0])
            raise DataError(f"{raw.root}/all_tags.txt line {rows[first] + 1}: expected at least one "
                            f"tag of the vocabulary, got none ({int(empty.sum())} such rows; "
                            "prepare.<dataset>.rows_without_tags: skip drops them)")
        paths, bow, labels, rows = drop_rows(~empty, paths, bow, labels, rows)
    counts["skipped_without_tags"] = int(empty.sum())
    return {"text": bow, "labels": labels, "vocab": vocab, "image_paths": paths, "rows": rows,
            "given_query": None, "image_source": "files", "counts": counts}


def from_mat(raw, cfg, log):
    from sgrn.data.matfile import read_mat_dataset

    data = read_mat_dataset(raw.mat_files, cfg.get("mat_keys"))
    labels, text = data.labels, data.text
    rows = np.arange(len(labels), dtype=np.int64)
    no_label = ~labels.any(axis=1)
    if no_label.any() and cfg["rows_without_label"] == "error":
        raise DataError(f"{raw.mat_files[0]}: labels row {int(np.flatnonzero(no_label)[0]) + 1}: "
                        "expected at least one label, got none (prepare.<dataset>.rows_without_label: "
                        "skip drops such rows)")
    empty = ~text.any(axis=1)
    if empty.any() and cfg["rows_without_tags"] == "error":
        raise DataError(f"{raw.mat_files[0]}: text row {int(np.flatnonzero(empty)[0]) + 1}: expected "
                        "a non-zero text feature, got all zeros (prepare.<dataset>.rows_without_tags: "
                        "skip drops such rows)")
    keep = ~no_label & ~empty
    counts = {"skipped_without_label": int(no_label.sum()), "skipped_without_tags": int((~no_label & empty).sum())}
    text, labels, rows = text[keep], labels[keep], rows[keep]
    given = None
    if data.n_train is not None:
        given = np.flatnonzero(rows >= data.n_train)
        log.info("partition given by the .mat files: %d test rows (queries), %d train rows",
                 len(given), len(rows) - len(given))
    pixels = data.image_parts[0].layout != "features"
    text = text.astype(np.uint8) if data.text_is_binary else text
    return {"text": text, "labels": labels, "vocab": None, "image_paths": None, "rows": rows,
            "given_query": given, "image_source": "mat-pixels" if pixels else "mat",
            "image_parts": [p.to_dict() for p in data.image_parts], "counts": counts}


def main(args, log):
    cfg = load_params(args.params)["prepare"][args.dataset]
    raw = open_raw(args.raw)
    data = from_list(raw, cfg, log) if raw.format == "list" else from_mat(raw, cfg, log)
    text, labels = data["text"], data["labels"]
    if len(text) == 0:
        raise DataError(f"{args.raw}: no pairs left after dropping rows ({data['counts']})")
    try:
        split = split_from_params(labels, data["given_query"], cfg["split"], where=f"prepare.{args.dataset}.split")
    except ValueError as err:
        raise DataError(f"{args.params}: {err} (the data has {len(labels)} pairs)") from None
    log.info("%s: split %s", args.dataset, describe_split(split))
    split = {name: getattr(split, name) for name in ("query", "train", "database", "validation")}
    with atomic_path(args.out) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("text", data=text, compression="gzip", chunks=True)
        f.create_dataset("labels", data=labels)
        f.create_dataset("source_rows", data=data["rows"])
        if data["image_paths"] is not None:
            f.create_dataset("image_paths", data=np.array(data["image_paths"], dtype=object),
                             dtype=h5py.string_dtype())
        else:
            f.attrs["image_parts"] = json.dumps(data["image_parts"])
        if data["vocab"] is not None:
            f.create_dataset("vocab", data=np.array(data["vocab"], dtype=object), dtype=h5py.string_dtype())
        write_split(f.create_group("split"), split)
        stamp(f, "prepare", params_hash(cfg), dataset=args.dataset, n_pairs=len(text),
              image_source=data["image_source"], raw_format=raw.format,
              image_root=str(raw.image_root), **data["counts"])
        mark_complete(f)
    log.info("%s: %d pairs, %d text dims, %d labels; dropped %s; split %s", args.dataset, len(text),
             text.shape[1], labels.shape[1], data["counts"], {k: len(v) for k, v in split.items()})


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--raw", required=True, help="raw dataset folder from download")
    p.add_argument("--out", required=True, help="pairs.h5 to write")
    run(main, p.parse_args())

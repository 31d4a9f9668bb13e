#!/usr/bin/env python
"""Step 2, prepare: vocabulary, bag of words, labels and the saved query/train split -> pairs.h5."""
import h5py
import numpy as np

from sgrn.atomic import atomic_path
from sgrn.cli import parser, run
from sgrn.data.bow import bag_of_words, build_vocab
from sgrn.data.errors import DataError
from sgrn.data.listformat import read_list_dataset
from sgrn.data.splits import per_label_split
from sgrn.h5 import mark_complete, stamp, write_split
from sgrn.params import load_params, params_hash


def main(args, log):
    cfg = load_params(args.params)["prepare"][args.dataset]
    data = read_list_dataset(args.raw, missing_images=cfg["missing_images"])
    vocab = data.vocab if data.vocab is not None else build_vocab(data.tags, cfg["min_tag_count"])
    bow = bag_of_words(data.tags, vocab)
    empty = np.flatnonzero(bow.sum(axis=1) == 0)
    if len(empty):
        raise DataError(f"{args.raw}/all_tags.txt line {empty[0] + 1}: no tag of the vocabulary "
                        f"({len(empty)} such rows); expected at least one per pair")
    s = cfg["split"]
    split = per_label_split(data.labels, query_per_label=s["query_per_label"],
                            train_per_label=s["train_per_label"], first_label_scale=s["first_label_scale"],
                            n_validation=s["n_validation"], seed=s["seed"])
    split = {name: getattr(split, name) for name in ("query", "train", "database", "validation")}
    with atomic_path(args.out) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("text", data=bow, compression="gzip")
        f.create_dataset("labels", data=data.labels)
        f.create_dataset("image_paths", data=np.array(data.image_paths, dtype=object),
                         dtype=h5py.string_dtype())
        f.create_dataset("vocab", data=np.array(vocab, dtype=object), dtype=h5py.string_dtype())
        write_split(f.create_group("split"), split)
        stamp(f, "prepare", params_hash(cfg), dataset=args.dataset, n_pairs=len(bow),
              skipped_missing_images=getattr(data, "skipped_missing_images", 0))
        mark_complete(f)
    log.info("%s: %d pairs, %d tags, %d labels; split %s", args.dataset, len(bow), len(vocab),
             data.labels.shape[1], {k: len(v) for k, v in split.items()})


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--dataset", required=True)
    p.add_argument("--raw", required=True, help="raw list-format folder")
    p.add_argument("--out", required=True, help="pairs.h5 to write")
    run(main, p.parse_args())

#!/usr/bin/env python
"""Step 6, evaluate: MAP@R, MAP@all, precision@K and PR points, I->T and T->I -> JSON; and the
MAP@all of the validation queries, measured as the trainer measured it for model selection."""
import math

import numpy as np

from sgrn.cli import parser, run
from sgrn.data.errors import DataError
from sgrn.files.atomic import write_json
from sgrn.files.h5 import open_complete
from sgrn.settings.paramfile import load_params


def without_nan(value):
    """NaN (an undefined precision) as JSON null, so that the file is strict JSON."""
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_nan(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def validation_retrieval(db: dict, validation_index: np.ndarray, chunk: int, source: str) -> dict:
    """MAP@all and per-query AP of the validation queries against the database minus them,
    both directions: the trainer's validation (sgrn.retrieval.metrics.validation_map, which sgrn.training.train.validate
    calls), from the saved codes.

    ``db``: the database's codes, labels and row indices (sorted, as encode writes them).
    """
    from sgrn.retrieval.metrics import validation_map  # numba: loaded where the metrics run

    is_val = np.isin(db["index"], validation_index)
    val = np.flatnonzero(is_val)
    if len(val) != len(np.unique(validation_index)):
        raise DataError(f"{source}: validation/index names {len(np.unique(validation_index)) - len(val)} rows "
                        "that are not in database/index; validation queries are database rows")
    result = validation_map(db["image"], db["text"], db["labels"], is_val, chunk=chunk)
    return {"queries": int(len(val)), "i2t": result["i2t"], "t2i": result["t2i"]}


def main(args, log):
    from sgrn.retrieval.metrics import evaluate_retrieval, label_prior_map  # numba: loaded where the metrics run

    cfg = load_params(args.params)["evaluate"]
    with open_complete(args.codes, expect_step="encode") as f:
        q = {k: f["query"][k][()] for k in ("image", "text", "labels")}
        db = {k: f["database"][k][()] for k in ("image", "text", "labels", "index")}
        validation_index = f["validation"]["index"][()] if "validation" in f else None
        meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()
                if k in ("dataset", "method", "config", "bits", "seed", "best_epoch", "val_map_all")}
    map_r = tuple(cfg["map_r"]) + (None,)

    def direction(query_codes, db_codes):
        result = evaluate_retrieval(query_codes, db_codes, q["labels"], db["labels"], map_r=map_r,
                                    topk=tuple(cfg["topk"]), chunk=cfg["chunk"], ties=cfg["ties"])
        result["p@k"] = {str(k): v for k, v in result["p@k"].items()}
        return result

    metrics = dict(meta, ties=cfg["ties"],
                   i2t=direction(q["image"], db["text"]), t2i=direction(q["text"], db["image"]),
                   label_prior_map_all=label_prior_map(q["labels"], db["labels"]))
    if validation_index is not None:
        metrics["validation"] = validation_retrieval(db, validation_index, cfg["chunk"], args.codes)
    write_json(args.out, without_nan(metrics))
    log.info("%s %s %s bits: I->T MAP@all %.4f, T->I MAP@all %.4f (label prior %.4f) -> %s",
             meta.get("dataset"), meta.get("method"), meta.get("bits"), metrics["i2t"]["map@all"],
             metrics["t2i"]["map@all"], metrics["label_prior_map_all"], args.out)


if __name__ == "__main__":
    p = parser(__doc__)
    p.add_argument("--codes", required=True, help="codes.h5 from encode")
    p.add_argument("--out", required=True, help="metrics JSON to write")
    run(main, p.parse_args())

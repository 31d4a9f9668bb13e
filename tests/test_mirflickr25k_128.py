"""The shipped `mirflickr25k_128` dataset on the real shared data: the download and prepare steps
with params.yaml's own entries, and the field's split (2,000 queries, 5,000 training pairs, 500
validation queries out of both, database = every non-query pair). No features are extracted."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from ci_guard import unavailable

from workflow_utils import REPO, env

NAME = "mirflickr25k_128"
SHARED_128 = REPO.parent / "shared" / "data" / NAME  # shared/ lies beside the checkout, in CI too
N_LISTED, N_WITH_IMAGE = 20015, 15677


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    if not (SHARED_128 / "all_imgs.txt").is_file():
        unavailable(f"the shared MIRFlickr-25K at 128 px is not at {SHARED_128} (see its SOURCE.md)")
    shipped = yaml.safe_load((REPO / "params.yaml").read_text())
    assert (REPO / shipped["download"][NAME]["path"]).resolve() == SHARED_128.resolve()
    tmp = tmp_path_factory.mktemp(NAME)
    params = dict(shipped, download={**shipped["download"], NAME: {"source": "local", "path": str(SHARED_128)}})
    (tmp / "params.yaml").write_text(yaml.safe_dump(params))
    for step, args in (("download", ["--out", "raw"]), ("prepare", ["--raw", "raw", "--out", "pairs.h5"])):
        proc = subprocess.run([sys.executable, str(REPO / "scripts" / f"{step}.py"), "--params", "params.yaml",
                               "--dataset", NAME, *args], cwd=tmp, env=env(), capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "pairs.h5"


def test_the_images_above_id_20000_are_skipped(prepared):
    with h5py.File(prepared) as f:
        assert f.attrs["skipped_missing_images"] == N_LISTED - N_WITH_IMAGE
        assert f["text"].shape == (N_WITH_IMAGE, 1386) and f["labels"].shape == (N_WITH_IMAGE, 24)
        names = [p.decode() if isinstance(p, bytes) else p for p in f["image_paths"][()]]
    ids = [int(Path(p).stem.removeprefix("im")) for p in names]
    assert max(ids) <= 20000 and len(set(ids)) == N_WITH_IMAGE


def test_the_split_is_the_fields_with_validation_out_of_sample(prepared):
    with h5py.File(prepared) as f:
        split = {name: f["split"][name][()] for name in ("query", "train", "validation", "database")}
    query, train, validation, database = (set(split[k].tolist()) for k in ("query", "train", "validation",
                                                                          "database"))
    assert (len(query), len(train), len(validation)) == (2000, 5000, 500)
    assert len(split["query"]) == 2000 and len(split["train"]) == 5000 and len(split["validation"]) == 500
    assert not query & train and not query & validation and not train & validation
    assert database == set(range(N_WITH_IMAGE)) - query and len(database) == 13677
    assert train <= database and validation <= database
    assert np.all(np.diff(split["database"]) > 0)

"""Bad inputs through the step scripts: refused with a message naming the file and the line or
key and what was expected, a non-zero exit, and nothing that existed before changed.

docs/errors.md lists the same cases (a test below keeps the two in step).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pytest
import yaml

from workflow_utils import BIN, REPO, run

pytestmark = pytest.mark.slow
RUN = "results/demo/sgrn/c0/b16/s0"


@dataclass
class Ctx:
    project: Path
    tmp: Path

    def params(self, **changes) -> str:
        """A params file: the project's, with dotted keys replaced."""
        params = yaml.safe_load((self.project / "params.yaml").read_text())
        for dotted, value in changes.items():
            node = params
            *parents, last = dotted.split("__")
            for key in parents:
                node = node[key]
            node[last] = value
        path = self.tmp / "params.yaml"
        path.write_text(yaml.safe_dump(params))
        return str(path)

    def raw(self, edit: Callable[[Path], None]) -> str:
        raw = self.tmp / "raw"
        shutil.copytree(self.project / "resources/raw/demo", raw)
        edit(raw)
        return str(raw)

    def h5(self, source: str, edit: Callable[[h5py.File], None]) -> str:
        path = self.tmp / Path(source).name
        shutil.copy(self.project / source, path)
        with h5py.File(path, "a") as f:
            edit(f)
        return str(path)


def edit_line(name: str, line: int, new: bytes | None):
    """Replace (or, with None, delete) a 1-based line of a list file."""
    def edit(raw: Path):
        lines = (raw / name).read_bytes().split(b"\n")
        if new is None:
            del lines[line - 1]
        else:
            lines[line - 1] = new
        (raw / name).write_bytes(b"\n".join(lines))
    return edit


def prepare(c: Ctx, raw: str) -> list[str]:
    return ["prepare", "--dataset", "demo", "--raw", raw]


def evaluate(c: Ctx, params: str = "params.yaml", codes: str = f"{RUN}/codes.h5") -> list[str]:
    return ["evaluate", "--params", params, "--codes", codes]


def train(c: Ctx, features: str = "results/demo/features.h5", params: str = "params.yaml") -> list[str]:
    return ["train", "--params", params, "--dataset", "demo", "--method", "sgrn", "--config", "0", "--bits", "16",
            "--seed", "0", "--features", features, "--live", str(c.tmp / "live")]


def encode(c: Ctx, method: str = "sgrn", bits: str = "16") -> list[str]:
    return ["encode", "--dataset", "demo", "--method", method, "--bits", bits,
            "--features", "results/demo/features.h5", "--model", f"{RUN}/model.pt"]


def drop_attr(name):
    return lambda f: f.attrs.__delitem__(name)


def put_nan(f):
    image = f["image"][()]
    image[3, 7] = np.nan
    f["image"][...] = image


def short_text(f):
    text = f["text"][()]
    del f["text"]
    f["text"] = text[:-1]


def truncated(c: Ctx, source: str) -> str:
    path = c.tmp / Path(source).name
    path.write_bytes((c.project / source).read_bytes()[:4096])
    return str(path)


# id, what is bad, command (without --out), fragments the message must hold
CASES = [
    ("params-unknown-key", "params.yaml with an unknown key",
     lambda c: evaluate(c, c.params(train__epochz=3)),
     ["params.yaml", "train: Additional properties are not allowed ('epochz' was unexpected)"]),
    ("params-wrong-type", "a value of the wrong type",
     lambda c: evaluate(c, c.params(train__epochs="ten")), ["train.epochs: 'ten' is not of type 'integer'"]),
    ("params-bits-not-multiple-of-8", "bits that are not a multiple of 8",
     lambda c: evaluate(c, c.params(bits=[12])), ["bits.0: 12 is not a multiple of 8"]),
    ("params-bits-too-long", "bits over 256",
     lambda c: evaluate(c, c.params(bits=[264])), ["bits.0: 264 is greater than the maximum of 256"]),
    ("params-k-not-below-batch", "k not smaller than the batch size",
     # method blocks are checked by the steps that read them (train, report) and by the
     # workflow before any job; evaluate reads none (sgrn/settings/paramfile.py)
     lambda c: train(c, params=c.params(method_params__sgrn__k=32)),
     ["method_params.sgrn: sgrn: k=32 must be smaller than the batch size 32"]),
    ("params-negative-lr", "a negative learning rate",
     lambda c: evaluate(c, c.params(train__lr_image=-0.01)),
     ["train.lr_image: -0.01 is less than or equal to the minimum of 0"]),
    ("params-unknown-method", "a method name with no parameters",
     lambda c: train(c, params=c.params(methods=["sgrn", "sgrm"])),
     ["methods lists 'sgrm' but method_params.sgrm is missing"]),
    ("params-missing-file", "a params file that does not exist",
     lambda c: evaluate(c, str(c.tmp / "nowhere.yaml")), ["nowhere.yaml: parameters file not found"]),
    ("list-missing-file", "a list file missing",
     lambda c: prepare(c, c.raw(lambda r: (r / "all_labels.txt").unlink())),
     ["all_labels.txt: file not found"]),
    ("list-empty-file", "an empty list file",
     lambda c: prepare(c, c.raw(lambda r: (r / "all_tags.txt").write_text(""))),
     ["all_tags.txt: the file is empty"]),
    ("list-line-counts", "list files with different line counts",
     lambda c: prepare(c, c.raw(edit_line("all_labels.txt", 300, None))), ["all_labels.txt", "299", "300"]),
    ("row-without-label", "a row with no label",
     lambda c: prepare(c, c.raw(edit_line("all_labels.txt", 5, b"0 0 0 0 0 0 0 0 0 0"))),
     ["all_labels.txt line 5: expected at least one label"]),
    ("label-row-width", "a label row of the wrong width",
     lambda c: prepare(c, c.raw(edit_line("all_labels.txt", 8, b"0 1 0"))),
     ["all_labels.txt line 8: expected 10 labels of 0/1, got 3 values"]),
    ("non-utf8-tags", "tags that are not UTF-8",
     lambda c: prepare(c, c.raw(edit_line("all_tags.txt", 3, b"caf\xe9,red"))),
     ["all_tags.txt line 3: expected UTF-8 text, got byte 0xe9"]),
    ("image-path-escapes", "an image path that escapes the dataset folder",
     lambda c: prepare(c, c.raw(edit_line("all_imgs.txt", 2, b"../../etc/passwd"))),
     ["all_imgs.txt line 2: expected a path inside the dataset folder"]),
    ("image-missing", "an image file missing (missing_images: error)",
     lambda c: prepare(c, c.raw(lambda r: (r / "images/im4.jpg").unlink())), ["all_imgs.txt line 4"]),
    ("corrupt-jpeg", "a corrupt JPEG",
     lambda c: ["extract", "--dataset", "demo", "--pairs", "resources/demo/pairs.h5",
                "--raw", c.raw(lambda r: (r / "images/im7.jpg").write_bytes(b"\xff\xd8\xff\xe0 junk"))],
     ["images/im7.jpg: image of row 7 cannot be decoded"]),
    ("hdf5-truncated", "an HDF5 file truncated by a crash mid-write",
     lambda c: train(c, truncated(c, "results/demo/features.h5")), ["features.h5: not a readable HDF5 file"]),
    ("hdf5-unfinished", "an HDF5 file never marked complete",
     lambda c: evaluate(c, codes=c.h5(f"{RUN}/codes.h5", drop_attr("complete"))),
     ["codes.h5: attribute 'complete' missing"]),
    ("hdf5-wrong-step", "an output of another step where codes are expected",
     lambda c: evaluate(c, codes="results/demo/features.h5"),
     ["features.h5: written by step 'extract', expected a 'encode' output"]),
    ("features-nan", "a feature matrix with NaN",
     lambda c: train(c, c.h5("results/demo/features.h5", put_nan)),
     ["features.h5: dataset 'image' row 3 holds NaN or inf"]),
    ("features-wrong-shape", "a feature matrix of the wrong shape",
     lambda c: train(c, c.h5("results/demo/features.h5", short_text)),
     ["features.h5: dataset 'text' has shape (299, ", "expected 300 rows"]),
    ("train-graphs-on-cpu", "CUDA graphs forced on for a CPU device",
     lambda c: train(c, params=c.params(train__device="cpu", train__cuda_graphs=True)),
     ["train.cuda_graphs: true, but training runs on cpu"]),
    ("checkpoint-other-method", "a checkpoint of another method",
     lambda c: encode(c, method="djsrh"), ["model.pt: field 'method' is 'sgrn', expected 'djsrh'"]),
    ("checkpoint-other-bits", "a checkpoint of another code length",
     lambda c: encode(c, bits="32"), ["model.pt: field 'bits' is 16, expected 32"]),
]


@pytest.mark.parametrize("case_id, what, command, fragments", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(smk_project, tmp_path, case_id, what, command, fragments):
    previous = tmp_path / "previous-output"
    previous.write_bytes(b"an earlier result")
    script, *args = command(Ctx(smk_project, tmp_path))
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run([str(BIN / "python"), f"scripts/{script}.py", *args, "--out", str(previous)],
               smk_project, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    for fragment in fragments:
        assert fragment in out, out
    assert "Traceback" not in out, out
    assert previous.read_bytes() == b"an earlier result"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "live") == \
        [name for name in before if name != "live"], "no new or temporary files"


def test_the_table_in_docs_lists_every_case():
    table = (REPO / "docs/errors.md").read_text()
    missing = [case_id for case_id, *_ in CASES if f"`{case_id}`" not in table]
    assert not missing, f"docs/errors.md lacks {missing}"
    assert len(CASES) >= 20

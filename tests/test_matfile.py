"""Import of precomputed features from .mat files (MATLAB v5 and v7.3) straight to features.h5."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.io import savemat
from test_mirflickr import params_for, step

from sgrn.data.errors import DataError
from sgrn.data.matfile import iter_feature_rows, mat_version, read_mat_dataset

RNG = np.random.default_rng(0)


def save_v73(path: Path, **arrays) -> Path:
    """A MATLAB v7.3 file as MATLAB writes it: HDF5 after a 512-byte header, arrays stored with
    their axes reversed (MATLAB is column-major)."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=np.asarray(value).T, chunks=True)
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 .")
    return path


def dataset(n=40, d=12, t=9, n_labels=4):
    image = RNG.random((n, d)).astype(np.float32)
    text = (RNG.random((n, t)) < 0.4).astype(np.float64)
    text[:, 0] = 1  # no all-zero text row
    labels = (RNG.random((n, n_labels)) < 0.4).astype(np.float64)
    labels[np.arange(n), RNG.integers(0, n_labels, n)] = 1
    return image, text, labels


def test_versions_are_recognised(tmp_path):
    image, text, labels = dataset()
    savemat(tmp_path / "a.mat", {"IAll": image})
    save_v73(tmp_path / "b.mat", IAll=image)
    (tmp_path / "c.mat").write_bytes(b"not a mat file at all")
    assert mat_version(tmp_path / "a.mat") == "v5" and mat_version(tmp_path / "b.mat") == "v7.3"
    with pytest.raises(DataError, match=r"c\.mat: expected a MATLAB v5 or v7.3"):
        mat_version(tmp_path / "c.mat")


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_dcmh_style_single_set(tmp_path, version):
    image, text, labels = dataset()
    arrays = {"IAll": image, "YAll": text, "LAll": labels}
    path = tmp_path / "set.mat"
    savemat(path, arrays) if version == "v5" else save_v73(path, **arrays)
    data = read_mat_dataset([path])
    assert data.layout == "single" and data.n_train is None and data.text_is_binary
    np.testing.assert_array_equal(data.text, text)
    np.testing.assert_array_equal(data.labels, labels)
    part = data.image_parts[0].to_dict()
    assert (part["items"], part["dim"], part["layout"]) == (40, 12, "features")
    rows = np.array([0, 1, 5, 6, 7, 30, 39])
    got = np.concatenate([b for _, b in iter_feature_rows([part], rows, block_rows=3)])
    np.testing.assert_array_equal(got, image[rows])


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_split_by_file_with_class_indices_and_transposed_features(tmp_path, version):
    image, text, _ = dataset(n=30)
    classes = RNG.integers(1, 6, 30)  # MATLAB 1-based class indices
    classes[:5] = np.arange(1, 6)
    tr = {"I_tr": image[:20].T, "T_tr": text[:20], "L_tr": classes[:20, None]}  # I_tr is (d, n)
    te = {"I_te": image[20:].T, "T_te": text[20:], "L_te": classes[20:][None, :]}
    save = savemat if version == "v5" else (lambda p, a: save_v73(p, **a))
    save(tmp_path / "train.mat", tr)
    save(tmp_path / "test.mat", te)
    data = read_mat_dataset([tmp_path / "test.mat", tmp_path / "train.mat"])
    assert data.layout == "split" and data.n_train == 20
    assert data.labels.shape == (30, 5) and (data.labels.sum(1) == 1).all()
    assert data.labels[np.arange(30), classes - 1].all()
    parts = [p.to_dict() for p in data.image_parts]
    assert [p["key"] for p in parts] == ["I_tr", "I_te"] and parts[0]["axis"] == 1
    got = np.concatenate([b for _, b in iter_feature_rows(parts, np.arange(30), block_rows=7)])
    np.testing.assert_array_equal(got, image)


def test_wrong_shapes_and_values_are_refused(tmp_path):
    image, text, labels = dataset()
    savemat(tmp_path / "a.mat", {"IAll": image, "YAll": text[:39], "LAll": labels})
    with pytest.raises(DataError, match=r"a\.mat key 'YAll': expected 40 rows .*got shape \(39, 9\)"):
        read_mat_dataset([tmp_path / "a.mat"])
    bad = labels.copy()
    bad[3, 2] = 2
    savemat(tmp_path / "b.mat", {"IAll": image, "YAll": text, "LAll": bad})
    with pytest.raises(DataError, match=r"b\.mat key 'LAll': row 4, column 3: expected 0 or 1, got 2"):
        read_mat_dataset([tmp_path / "b.mat"])
    t = text.copy()
    t[7, 1] = np.inf
    savemat(tmp_path / "c.mat", {"IAll": image, "YAll": t, "LAll": labels})
    with pytest.raises(DataError, match=r"c\.mat key 'YAll': row 8, column 2: expected a finite number, got inf"):
        read_mat_dataset([tmp_path / "c.mat"])
    savemat(tmp_path / "d.mat", {"features": image, "YAll": text, "LAll": labels})
    with pytest.raises(DataError, match=r"expected a image variable named one of IAll.*present: LAll"):
        read_mat_dataset([tmp_path / "d.mat"])
    data = read_mat_dataset([tmp_path / "d.mat"], {"image": "features"})
    assert data.image_parts[0].key == "features"
    savemat(tmp_path / "e.mat", {"IAll": image[:, :, None].repeat(2, 2), "YAll": text, "LAll": labels})
    with pytest.raises(DataError,
                       match=r"e\.mat key 'IAll': expected a 2-d image matrix of 40 rows, got shape \(40, 12, 2\)"):
        read_mat_dataset([tmp_path / "e.mat"])


def test_nan_in_image_features_names_the_row(tmp_path):
    image, _, _ = dataset()
    image[17, 4] = np.nan
    save_v73(tmp_path / "a.mat", IAll=image)
    part = {"file": str(tmp_path / "a.mat"), "key": "IAll", "version": "v7.3", "items": 40, "axis": 0,
            "layout": "features", "dim": 12}
    with pytest.raises(DataError, match=r"a\.mat key 'IAll': row 18, column 5: expected a finite number, got nan"):
        list(iter_feature_rows([part], np.arange(40), block_rows=8))


def test_steps_import_features_and_honour_the_partition(tmp_path):
    image, text, labels = dataset(n=60)
    save_v73(tmp_path / "d.mat", I_tr=image[:45], T_tr=text[:45], L_tr=labels[:45],
             I_te=image[45:], T_te=text[45:], L_te=labels[45:])
    params = params_for(tmp_path, "m", {"source": "mat", "path": str(tmp_path / "d.mat")},
                        {"split": {"n_validation": 10}}, standardise=False)
    step("download", params, tmp_path, "--dataset", "m", "--out", "raw")
    step("prepare", params, tmp_path, "--dataset", "m", "--raw", "raw", "--out", "pairs.h5")
    step("extract", params, tmp_path, "--dataset", "m", "--raw", "raw", "--pairs", "pairs.h5",
         "--out", "features.h5")
    with h5py.File(tmp_path / "features.h5") as f:
        np.testing.assert_array_equal(f["image"][()], image)
        np.testing.assert_array_equal(f["text"][()], text)
        assert f["text"].dtype == np.uint8
        np.testing.assert_array_equal(f["split/query"][()], np.arange(45, 60))
        np.testing.assert_array_equal(f["split/database"][()], np.arange(45))
        validation = f["split/validation"][()]
        assert len(validation) == 10 and set(validation) <= set(range(45))
        # the training pairs are the other 35: validation is out of sample
        np.testing.assert_array_equal(f["split/train"][()], np.setdiff1d(np.arange(45), validation))
        assert f.attrs["image_source"] == "mat" and f.attrs["complete"]


def test_steps_refuse_nan_features_and_keep_nothing_half_written(tmp_path):
    image, text, labels = dataset()
    image[33, 0] = np.inf
    savemat(tmp_path / "d.mat", {"IAll": image, "YAll": text, "LAll": labels})
    params = params_for(tmp_path, "m", {"source": "mat", "path": str(tmp_path)},
                        {"split": {"kind": "random", "n_query": 5, "n_validation": 5}})
    step("download", params, tmp_path, "--dataset", "m", "--out", "raw")
    step("prepare", params, tmp_path, "--dataset", "m", "--raw", "raw", "--out", "pairs.h5")
    proc = step("extract", params, tmp_path, "--dataset", "m", "--raw", "raw", "--pairs", "pairs.h5",
                "--out", "features.h5", check=False)
    assert proc.returncode == 2
    assert "d.mat key 'IAll': row 34, column 1: expected a finite number, got inf" in proc.stderr
    assert not (tmp_path / "features.h5").exists() and (tmp_path / "pairs.h5").exists()


def test_pixel_arrays_run_through_the_backbone(tmp_path):
    n = 6
    pixels = RNG.integers(0, 255, (32, 40, 3, n), dtype=np.uint8)  # MATLAB (h, w, 3, n)
    _, text, labels = dataset(n=n)
    save_v73(tmp_path / "iall.mat", IAll=pixels)
    savemat(tmp_path / "rest.mat", {"YAll": text, "LAll": labels})
    params = params_for(tmp_path, "p", {"source": "mat", "path": str(tmp_path)},
                        {"split": {"kind": "random", "n_query": 2, "n_validation": 2}}, standardise=False)
    step("download", params, tmp_path, "--dataset", "p", "--out", "raw")
    step("prepare", params, tmp_path, "--dataset", "p", "--raw", "raw", "--out", "pairs.h5")
    step("extract", params, tmp_path, "--dataset", "p", "--raw", "raw", "--pairs", "pairs.h5",
         "--out", "features.h5")
    with h5py.File(tmp_path / "features.h5") as f:
        assert f["image"].shape == (n, 4096) and f.attrs["image_source"] == "mat-pixels"
        assert f.attrs["backbone"] == "alexnet"

    # The same pictures through the image path give the same features.
    from PIL import Image

    from sgrn.features.backbones import get_backbone
    from sgrn.features.images import ImageFiles

    for i in range(n):
        Image.fromarray(np.ascontiguousarray(pixels[:, :, :, i])).save(tmp_path / f"{i}.png")
    files = ImageFiles(tmp_path, [f"{i}.png" for i in range(n)])
    model, _ = get_backbone("alexnet").load("random", 0)
    import torch

    with torch.inference_mode():
        expected = model(files.to_model_input(torch.stack([files[i][0] for i in range(n)]))).numpy()
    with h5py.File(tmp_path / "features.h5") as f:
        np.testing.assert_allclose(f["image"][()], expected, rtol=1e-4, atol=1e-4)

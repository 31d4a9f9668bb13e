"""Shared fixtures: one tiny demo run through Snakemake, and a small graph with ties."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402
from ci_guard import shared_data  # noqa: E402

from workflow_utils import BIN, read_params, run, tiny_copy, write_params  # noqa: E402


@pytest.fixture(scope="session")
def mirflickr_sample():
    """The shared MIRFlickr-25K sample (../shared/data/mirflickr25k: the lists of 20,015 pairs,
    images of 730); skipped where it is not there, a failure in CI."""
    return shared_data("mirflickr25k", "all_imgs.txt", "all_tags.txt", "all_labels.txt")


@pytest.fixture(scope="session")
def smk_project(tmp_path_factory):
    """A tiny demo (300 pairs, 2 epochs, 16 bits, SGRN) run by `snakemake --cores 2`."""
    root = tiny_copy(tmp_path_factory.mktemp("smk"), git=True)
    run([str(BIN / "snakemake"), "--cores", "2"], root)
    return root


@pytest.fixture(scope="session")
def two_method_project(smk_project, tmp_path_factory):
    """The tiny demo with DJSRH beside SGRN: a copy of `smk_project` in which Snakemake trains
    only the new method and redoes the report (two runs to compare side by side)."""
    root = tmp_path_factory.mktemp("two_methods") / "project"
    shutil.copytree(smk_project, root, symlinks=True)
    params = read_params(root)
    params["methods"] = ["sgrn", "djsrh"]
    write_params(root, params)
    run([str(BIN / "snakemake"), "--cores", "2"], root)
    return root


def pytest_collection_modifyitems(config, items):
    """The SLURM test runs last. It installs slurm-client, and once its cluster is stopped
    every `snakemake` start waits about 10 s for a controller (toolchain.md), so no other
    workflow test may come after it; its cluster stays up until the session ends."""
    items.sort(key=lambda item: item.path.name == "test_slurm.py")


@pytest.fixture
def tied():
    """Symmetric C with ties at the 3rd largest value of rows 0 and 1."""
    return torch.tensor(
        [
            [1.0, 0.8, 0.5, 0.5, 0.2],
            [0.8, 1.0, 0.3, 0.3, 0.3],
            [0.5, 0.3, 1.0, 0.6, 0.1],
            [0.5, 0.3, 0.6, 1.0, 0.4],
            [0.2, 0.3, 0.1, 0.4, 1.0],
        ],
        dtype=torch.float64,
    )

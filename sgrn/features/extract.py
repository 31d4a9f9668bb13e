"""Stream image features batch by batch into an HDF5 dataset."""
from __future__ import annotations

import logging
import time

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader

from sgrn.features.images import raise_first_error, worker_init

log = logging.getLogger(__name__)


def feature_chunks(n: int, dim: int) -> tuple[int, int]:
    """HDF5 chunk shape of an (n, dim) float32 feature matrix: whole rows, about 1 MiB."""
    return max(1, min(n, (1 << 20) // (4 * dim))), dim


def extract_to(dataset: h5py.Dataset, images, model: torch.nn.Module, batch_size: int,
               workers: int, device: torch.device) -> float:
    """Fill `dataset` (n, d) with model(images) in row order; returns images per second.

    ``images`` yields (uint8 HWC tensor, error) items and maps batches with
    ``to_model_input`` (ImageFiles, ArrayImages); decoding and resizing run in ``workers``
    DataLoader processes while the main process runs the model.
    """
    loader = DataLoader(images, batch_size=batch_size, shuffle=False, num_workers=workers,
                        persistent_workers=False, worker_init_fn=worker_init if workers else None,
                        prefetch_factor=4 if workers else None, pin_memory=device.type == "cuda")
    model = model.to(device).to(memory_format=torch.channels_last)
    start, done, last_report = time.perf_counter(), 0, 0.0
    with torch.inference_mode():
        for batch, errors in loader:
            raise_first_error(errors)
            batch = images.to_model_input(batch.to(device, non_blocking=True))
            feats = model(batch).float().cpu().numpy()
            dataset[done:done + len(feats)] = feats.astype(np.float32, copy=False)
            done += len(feats)
            elapsed = time.perf_counter() - start
            if elapsed - last_report > 10 or done == len(images):
                log.info("extracted %d/%d images (%.1f img/s)", done, len(images), done / elapsed)
                last_report = elapsed
    return done / max(time.perf_counter() - start, 1e-9)


def standardise_columns(dataset: h5py.Dataset, train_rows: np.ndarray, chunk: int = 4096):
    """z-score every column in place with the mean and std of the training rows (method.md 3).

    For features whose cosines all crowd together (random weights, hand-crafted or imported
    features); returns (mean, std) so that new queries can be mapped the same way.
    """
    train_rows = np.sort(train_rows)
    total = np.zeros(dataset.shape[1], np.float64)
    total_sq = np.zeros(dataset.shape[1], np.float64)
    for start in range(0, len(train_rows), chunk):
        x = dataset[train_rows[start:start + chunk]].astype(np.float64)
        total += x.sum(axis=0)
        total_sq += (x * x).sum(axis=0)
    mean = total / len(train_rows)
    std = np.sqrt(np.maximum(total_sq / len(train_rows) - mean * mean, 0.0))
    std[std < 1e-8] = 1.0  # constant columns stay constant (zero) instead of dividing by 0
    mean, std = mean.astype(np.float32), std.astype(np.float32)
    for start in range(0, dataset.shape[0], chunk):
        dataset[start:start + chunk] = (dataset[start:start + chunk] - mean) / std
    return mean, std


def copy_features(dataset: h5py.Dataset, blocks) -> None:
    """Fill `dataset` from (start, block) pairs (precomputed features, read in blocks)."""
    done, last_report, start = 0, 0.0, time.perf_counter()
    for offset, block in blocks:
        dataset[offset:offset + len(block)] = block
        done = offset + len(block)
        if time.perf_counter() - start - last_report > 10:
            last_report = time.perf_counter() - start
            log.info("copied %d/%d feature rows", done, dataset.shape[0])
    if done != dataset.shape[0]:
        raise ValueError(f"copied {done} feature rows, expected {dataset.shape[0]}")

"""Stream image features batch by batch into an HDF5 dataset."""
from __future__ import annotations

import logging
import time

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader

from sgrn.features.images import ImageFiles, raise_first_error

log = logging.getLogger(__name__)


def extract_to(dataset: h5py.Dataset, images: ImageFiles, model: torch.nn.Module, batch_size: int,
               workers: int, device: torch.device) -> float:
    """Fill `dataset` (n, d) with model(images) in row order; returns images per second."""
    loader = DataLoader(images, batch_size=batch_size, shuffle=False, num_workers=workers,
                        persistent_workers=False)
    model = model.to(device).to(memory_format=torch.channels_last)
    start, done, last_report = time.perf_counter(), 0, 0.0
    with torch.inference_mode():
        for batch, errors in loader:
            raise_first_error(errors)
            batch = batch.to(device).contiguous(memory_format=torch.channels_last)
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

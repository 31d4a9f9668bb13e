"""Stream image features batch by batch into an HDF5 dataset."""
from __future__ import annotations

import logging
import time

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader

from sgrn.features.images import ImageFiles

log = logging.getLogger(__name__)


def extract_to(dataset: h5py.Dataset, images: ImageFiles, model: torch.nn.Module, batch_size: int,
               workers: int, device: torch.device) -> float:
    """Fill `dataset` (n, d) with model(images) in row order; returns images per second."""
    loader = DataLoader(images, batch_size=batch_size, shuffle=False, num_workers=workers,
                        persistent_workers=False)
    model = model.to(device).to(memory_format=torch.channels_last)
    start, done, last_report = time.perf_counter(), 0, 0.0
    with torch.inference_mode():
        for batch in loader:
            batch = batch.to(device).contiguous(memory_format=torch.channels_last)
            feats = model(batch).float().cpu().numpy()
            dataset[done:done + len(feats)] = feats.astype(np.float32, copy=False)
            done += len(feats)
            elapsed = time.perf_counter() - start
            if elapsed - last_report > 10 or done == len(images):
                log.info("extracted %d/%d images (%.1f img/s)", done, len(images), done / elapsed)
                last_report = elapsed
    return done / max(time.perf_counter() - start, 1e-9)

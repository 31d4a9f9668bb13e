#!/usr/bin/env python
"""Extraction throughput against the backbone's bare forward pass on the same batches.

For each backbone: (a) the bare forward pass over batches decoded beforehand (the ceiling),
(b) the extract step's loop (extract_to: JPEG decoding and resizing in DataLoader workers,
forward pass, HDF5 writes). Both run in this process with the same torch threads, rounds
interleaved (a, b, a, b, ...). Reported: the best round of each and their ratio, and the
median of the per-round ratios (robust to other load on a shared machine).
Target: (b) >= 0.8 x (a).

    python benchmarks/bench_extract.py [--images N] [--threads 2] [--workers 1[,4,...]]
                                       [--device cpu|cuda] [--image-dir DIR]

Images: --image-dir, else the shared MIRFlickr sample when present (256-px short side), else
generated 500x375 JPEGs (the size of the full MIRFlickr images).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from sgrn.features.backbones import get_backbone
from sgrn.features.extract import extract_to, feature_chunks
from sgrn.features.images import ImageFiles

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mirflickr25k"


def image_set(n: int, tmp: Path, folder: str | None) -> tuple[Path, list[str], str]:
    root = Path(folder) if folder else SHARED / "mirflickr"
    files = sorted(root.glob("im*.jpg"))
    if len(files) >= n:
        return root, [f.name for f in files[:n]], f"MIRFlickr sample images from {root}"
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        arr = (rng.random((375, 500, 3)) * 64 + rng.integers(0, 192, 3)).astype(np.uint8)
        Image.fromarray(arr).save(tmp / f"im{i}.jpg", quality=90)
        paths.append(f"im{i}.jpg")
    return tmp, paths, "generated 500x375 JPEGs"


def bare_forward(model, batches, device) -> float:
    """Images per second of the model alone (input copied to the device, output back)."""
    start = time.perf_counter()
    with torch.inference_mode():
        for b in batches:
            model(b.to(device).contiguous(memory_format=torch.channels_last)).cpu()
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def pipeline(model, images, dim, batch_size, workers, device) -> float:
    with h5py.File("bench.h5", "w", driver="core", backing_store=False) as f:
        ds = f.create_dataset("image", shape=(len(images), dim), dtype="float32",
                              chunks=feature_chunks(len(images), dim))
        return extract_to(ds, images, model, batch_size, workers, device)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", default="1", help="comma-separated DataLoader worker counts")
    p.add_argument("--device", default="cpu")
    p.add_argument("--image-dir", default=None)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--backbones", default="alexnet,efficientnet_lite0")
    p.add_argument("--quick", action="store_true",
                   help="16 images, one round, AlexNet (random weights) only: the smoke test")
    args = p.parse_args()
    if args.quick:
        args.images, args.batch_size, args.rounds, args.backbones = 16, 8, 1, "alexnet"
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    workers = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root, paths, what = image_set(args.images, Path(tmp), args.image_dir)
        print(f"{len(paths)} images ({what}), batch {args.batch_size}, {args.threads} torch threads, "
              f"device {device}, torch {torch.__version__}")
        print("| backbone | workers | bare forward (img/s), best | extract_to (img/s), best | "
              "ratio of bests | median ratio of paired rounds |")
        print("|---|---|---|---|---|---|")
        for name in args.backbones.split(","):
            bb = get_backbone(name)
            model, _ = bb.load("imagenet" if name == "efficientnet_lite0" else "random", 0)
            model = model.to(device).to(memory_format=torch.channels_last)
            images = ImageFiles(root, paths, bb.size, bb.mean, bb.std)
            batches = [images.to_model_input(torch.stack(
                [images[i][0] for i in range(s, min(s + args.batch_size, len(paths)))]))
                for s in range(0, len(paths), args.batch_size)]
            bare_forward(model, batches[:2], device)  # warm-up
            for w in workers:
                bare, piped = [], []
                for _ in range(args.rounds):
                    bare.append(bare_forward(model, batches, device))
                    piped.append(pipeline(model, images, bb.dim, args.batch_size, w, device))
                paired = float(np.median([p_ / b_ for p_, b_ in zip(piped, bare)]))
                print(f"| {name} | {w} | {max(bare):.1f} | {max(piped):.1f} | "
                      f"{max(piped) / max(bare):.2f} | {paired:.2f} |", flush=True)


if __name__ == "__main__":
    main()

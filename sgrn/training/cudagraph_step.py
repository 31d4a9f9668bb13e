"""A training step captured once as a CUDA graph and replayed (train.cuda_graphs).

One SGD step of the small hash nets is a few dozen tiny kernels; launched one by one from
Python the GPU idles between them. Captured as one CUDA graph, a step is a single launch.
The graph reads its inputs from static buffers: the batch's training indices and alpha
(which changes per epoch, so it is a device tensor, not a constant baked into the graph).
The parameters, gradients, momentum buffers and loss sums are the same tensors at every
replay, updated in place.

The first `warmup` steps run eagerly on a side stream (CUDA's rule for what is captured
later: lazy initialisation, the optimisers' momentum buffers). They are real training
steps, not throw-away ones, so a graphed run makes exactly the updates an eager run makes.
Only this module touches torch.cuda graphs; train.py uses it where the device is CUDA.
"""
from __future__ import annotations

import torch


class GraphedStep:
    """Wraps a TrainStep (sgrn.training.train) with the same call: step(batch, alpha)."""

    def __init__(self, step, batch_size: int, device: torch.device, warmup: int = 3):
        self.step = step
        self.device = device
        self.batch = torch.zeros(batch_size, dtype=torch.long, device=device)
        self.alpha = torch.ones((), dtype=torch.float32, device=device)
        self.warmup_left = warmup
        self.side_stream = torch.cuda.Stream(device)
        self.graph: torch.cuda.CUDAGraph | None = None
        step.autocast_cache = False  # casts cached by autocast must not outlive a capture

    def __call__(self, batch: torch.Tensor, alpha: float) -> None:
        self.batch.copy_(batch, non_blocking=True)
        self.alpha.fill_(alpha)
        if self.graph is None and self.warmup_left > 0:
            self._eager_on_side_stream()
            self.warmup_left -= 1
            return
        if self.graph is None:
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):  # records the step; runs nothing
                self.step(self.batch, self.alpha)
        self.graph.replay()

    def _eager_on_side_stream(self) -> None:
        main = torch.cuda.current_stream(self.device)
        self.side_stream.wait_stream(main)
        with torch.cuda.stream(self.side_stream):
            self.step(self.batch, self.alpha)
        main.wait_stream(self.side_stream)

    def read_means(self, steps: int) -> dict[str, float]:
        return self.step.read_means(steps)

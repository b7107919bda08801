"""The running mean of a network's weights over epochs (stochastic weight averaging)."""

from __future__ import annotations

from typing import Any


class WeightAverage:
    """The running mean of a network's weights, taken at the end of chosen epochs."""

    def __init__(self, net: Any) -> None:
        import copy

        self.net = copy.deepcopy(net)
        self.count = 0

    def add(self, net: Any) -> None:
        import torch

        self.count += 1
        with torch.no_grad():
            for mean, current in zip(self.net.state_dict().values(), net.state_dict().values(),
                                     strict=True):
                if mean.is_floating_point():
                    mean += (current - mean) / self.count
                else:
                    mean.copy_(current)

    def measure_batch_norms(self, faces: Any, batch_size: int = 256) -> None:
        """Running statistics of the batch norms, measured afresh on ``faces`` through the
        averaged weights (the mean of the networks' statistics is not the statistics of their
        mean)."""
        import torch
        from torch import nn

        norms = [m for m in self.net.modules() if isinstance(m, nn.BatchNorm2d)]
        momenta = [norm.momentum for norm in norms]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a plain average over the batches below
        self.net.train()
        with torch.no_grad():
            for start in range(0, len(faces), batch_size):
                self.net(faces[start:start + batch_size])
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        self.net.eval()

"""Grey faces made into network input: the normalisation, and random changes to training faces."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from emotion_core.training.config import Augmentation

# n random numbers between low and high, one a face, on the faces' device
Uniform = Callable[[float, float], Any]


def normalise(x: Any, standardise: bool) -> Any:
    """Grey values 0..255 (N, 1, H, W) → the network's input; the ONNX graph does the same."""
    if standardise:
        # each face to zero mean and unit contrast: lighting and camera gain vary far more in a
        # classroom than across FER2013's web photos
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True)
        return (x - mean) / (std + 8.0)
    return x / 127.5 - 1.0


def augment(x: Any, aug: Augmentation, generator: Any) -> Any:
    """Randomly changed copies of grey faces x (N, 1, H, W) float 0..255, on x's device."""
    import torch

    n = x.shape[0]

    def uniform(low: float, high: float) -> Any:
        return (torch.rand(n, generator=generator) * (high - low) + low).to(x.device)

    x = _move(x, aug, generator, uniform)
    contrast = uniform(1 - aug.contrast, 1 + aug.contrast).view(n, 1, 1, 1)
    brightness = uniform(-aug.brightness, aug.brightness).view(n, 1, 1, 1) * 255
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean + brightness).clamp(0, 255)
    if aug.erase_probability > 0:
        x = _erase_patch(x, aug, uniform)
    return x


def _move(x: Any, aug: Augmentation, generator: Any, uniform: Uniform) -> Any:
    """x turned, scaled, shifted and mirrored at random, each face on its own."""
    import torch
    import torch.nn.functional as F

    n = x.shape[0]
    angle = uniform(-aug.rotation, aug.rotation) * (math.pi / 180)
    scale = uniform(1 - aug.scale, 1 + aug.scale)
    flip = (torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if aug.flip
            else torch.ones(n)).to(x.device)
    tx, ty = uniform(-aug.shift, aug.shift) * 2, uniform(-aug.shift, aug.shift) * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _erase_patch(x: Any, aug: Augmentation, uniform: Uniform) -> Any:
    """x with a rectangle of random size, shape, place and grey value over some of its faces."""
    import torch

    n, h, w = x.shape[0], x.shape[2], x.shape[3]
    area = uniform(*aug.erase_area) * h * w
    aspect = torch.exp(uniform(math.log(0.5), math.log(2.0)))
    eh = torch.sqrt(area * aspect).clamp(1, h - 1)
    ew = torch.sqrt(area / aspect).clamp(1, w - 1)
    y0 = uniform(0, 1) * (h - eh)
    x0 = uniform(0, 1) * (w - ew)
    erase = uniform(0, 1) < aug.erase_probability
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    mask = ((ys >= y0.view(n, 1, 1)) & (ys < (y0 + eh).view(n, 1, 1))
            & (xs >= x0.view(n, 1, 1)) & (xs < (x0 + ew).view(n, 1, 1)) & erase.view(n, 1, 1))
    fill = uniform(0, 255).view(n, 1, 1)
    return torch.where(mask.unsqueeze(1), fill.unsqueeze(1), x)

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
    if aug.gamma > 0:
        gamma = torch.exp(uniform(-aug.gamma, aug.gamma)).view(n, 1, 1, 1)
        x = 255 * (x / 255).clamp(0, 1) ** gamma
    contrast = uniform(1 - aug.contrast, 1 + aug.contrast).view(n, 1, 1, 1)
    brightness = uniform(-aug.brightness, aug.brightness).view(n, 1, 1, 1) * 255
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean + brightness).clamp(0, 255)
    if aug.erase_probability > 0:
        x = _erase_patch(x, aug, uniform)
    if aug.low_resolution > 0:
        x = degrade(x, aug, generator)
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
    if aug.yaw > 0 or aug.pitch > 0:
        grid = _turned(grid, uniform(-aug.yaw, aug.yaw), uniform(-aug.pitch, aug.pitch))
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


def _turned(grid: Any, yaw: Any, pitch: Any) -> Any:
    """A sampling grid (N, H, W, 2) warped as if each face were turned by ``yaw`` (about the
    vertical axis) and ``pitch`` degrees (a plane seen in perspective from about four face widths
    away: the far side shrinks, the face narrows by the cosine of the turn)."""
    import torch

    yaw, pitch = yaw * (math.pi / 180), pitch * (math.pi / 180)
    u, v = grid[..., 0], grid[..., 1]
    view = (-1, 1, 1)
    depth = 1 + 0.25 * (torch.sin(yaw).view(view) * u + torch.sin(pitch).view(view) * v)
    return torch.stack([u / (torch.cos(yaw).view(view) * depth),
                        v / (torch.cos(pitch).view(view) * depth)], dim=-1)


def degrade(x: Any, aug: Augmentation, generator: Any) -> Any:
    """x with ``aug.low_resolution`` of its faces seen as a classroom camera sees them: shrunk
    to a random height (area), blurred, noisy and JPEG-compressed at that height, then enlarged
    back (bilinear), as the app enlarges a small face to the model's input. Done face by face
    with OpenCV, which is far quicker on faces this small than batched torch operations."""
    import numpy as np
    import torch

    n = x.shape[0]
    rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    chosen = np.flatnonzero(rng.random(n) < aug.low_resolution)
    if not len(chosen):
        return x
    faces = x[torch.from_numpy(chosen).to(x.device), 0].detach().to("cpu").numpy()
    low, high = aug.low_resolution_px
    seen = np.stack([_camera_view(face, int(rng.integers(low, high + 1)), aug, rng)
                     for face in faces])
    out = x.clone()
    out[torch.from_numpy(chosen).to(x.device), 0] = torch.from_numpy(seen).to(x.device)
    return out


def _camera_view(face: Any, height: int, aug: Augmentation, rng: Any) -> Any:
    """One grey face (h, w) float 0..255 as a camera sees it at ``height`` px, enlarged back."""
    import cv2
    import numpy as np

    size = face.shape[0]
    small = cv2.resize(face, (height, height), interpolation=cv2.INTER_AREA)
    if aug.blur > 0:
        sigma = rng.random() * aug.blur
        if sigma > 0.1:
            small = cv2.GaussianBlur(small, (5, 5), sigma, borderType=cv2.BORDER_REPLICATE)
    if aug.noise > 0:
        small = small + rng.normal(0, rng.random() * aug.noise, small.shape)
    small = np.clip(np.round(small), 0, 255).astype(np.uint8)
    if aug.jpeg_quality:
        quality = int(rng.integers(aug.jpeg_quality[0], aug.jpeg_quality[1] + 1))
        ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            small = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)

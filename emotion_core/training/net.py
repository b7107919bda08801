"""The architecture of our own emotion model: a small residual CNN for 48×48 grey faces.

Built for training on a 2-core CPU as much as for accuracy: the first convolution runs at the
input's 48×48 with few channels and is pooled at once, so the costly 3×3 convolutions run at
24×24 and below. Each stage is two residual blocks of two 3×3 convolutions with batch norm; a
stage halves the resolution and doubles the channels. Global average pooling and dropout lead to
one linear layer giving logits over the 7 FER2013 classes.

Only training and export use torch; the app runs the exported ONNX file with onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class NetShape:
    """Channels of the stem and of each stage, and blocks per stage."""

    stem: int = 32
    stages: tuple[int, ...] = (48, 96, 192)
    blocks: int = 2
    dropout: float = 0.3

    def describe(self) -> str:
        return (f"stem {self.stem} ch at 48×48, pooled to 24×24; stages {self.stages} ch × "
                f"{self.blocks} residual blocks at 24, 12, 6 px; GAP, dropout {self.dropout}")


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
    )


class ResidualBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(c_in, c_out, stride), nn.ReLU(inplace=True),
                                  _conv_bn(c_out, c_out))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class EmotionNet(nn.Module):
    """Logits (N, 7) for grey faces (N, 1, 48, 48) scaled to [-1, 1]."""

    def __init__(self, shape: NetShape = NetShape(), classes: int = 7) -> None:
        super().__init__()
        self.shape = shape
        layers: list[nn.Module] = [
            nn.Conv2d(1, shape.stem, 3, padding=1, bias=False),
            nn.BatchNorm2d(shape.stem),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        ]
        c_in = shape.stem
        for i, c_out in enumerate(shape.stages):
            for b in range(shape.blocks):
                stride = 2 if (b == 0 and i > 0) else 1
                layers.append(ResidualBlock(c_in, c_out, stride))
                c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(shape.dropout), nn.Linear(c_in, classes)
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # each block starts as (almost) the identity: trains faster and steadier
        for m in self.modules():
            if isinstance(m, ResidualBlock):
                nn.init.zeros_(m.body[-1][1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

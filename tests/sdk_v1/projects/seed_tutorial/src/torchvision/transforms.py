"""``transforms.ToTensor``: HWC uint8 image -> CHW float tensor in [0, 1]."""

import torch


class ToTensor:
    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return image.permute(2, 0, 1).to(torch.float32) / 255.0

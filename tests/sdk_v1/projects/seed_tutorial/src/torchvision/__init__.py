"""A stand-in for torchvision in this test's source folder: torchvision is not
installable here, and CIFAR-10 is a 170 MB download. It provides exactly what the seed
tutorial's train.py uses (datasets.CIFAR10, transforms.ToTensor), with small local data:
8,000 deterministic 32x32 RGB images, enough for train.py to reach its every-2000-batch
loss line once per epoch."""

from torchvision import datasets, transforms

__all__ = ["datasets", "transforms"]

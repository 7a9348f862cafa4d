"""``datasets.CIFAR10`` over generated images: nothing is downloaded or read."""

import torch

IMAGES = 8000


class CIFAR10(torch.utils.data.Dataset):
    def __init__(self, root, train=True, download=False, transform=None):
        self.root = root
        self.train = train
        self.transform = transform

    def __len__(self):
        return IMAGES

    def __getitem__(self, index):
        generator = torch.Generator().manual_seed(index)
        label = index % 10
        image = torch.randint(0, 256, (32, 32, 3), dtype=torch.uint8, generator=generator)
        image[:, :, label % 3] //= 2  # a little signal for the net to find
        if self.transform is not None:
            image = self.transform(image)
        return image, label

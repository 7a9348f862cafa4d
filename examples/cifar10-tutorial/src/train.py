"""Train the tutorial's CNN on CIFAR-10 and log the loss to Runyard.

This is the tutorial's train.py (from PyTorch's CIFAR-10 tutorial) with `from runyard.core
import Run` in place of `from azureml.core import Run`. Its defaults are the tutorial's
(batch size 4, SGD lr 0.001 momentum 0.9, 2 epochs, a line every 2,000 batches); the
arguments exist so that tests and the demo can run it small:

    python train.py                                   # the tutorial, ~12,500 batches an epoch
    python train.py --limit 2000 --epochs 1 --log-every 100 --fallback digits

Run directly, `Run.get_context()` gives an offline run; submitted with ../run-pytorch.py,
the same line gives the submitted run, and the studio charts the metrics live.
"""

import argparse
import os
import sys

import torch
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

from runyard.core import Run

from cifar10 import CIFAR10_URL, FALLBACKS, DataError, load_data
from model import Net

# get run from the current context
run = Run.get_context()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument(
        "--data-path",
        default="../data",
        help="where the archive is downloaded and extracted; outside src/ so that the "
        "data is not part of the run's snapshot (default: ../data)",
    )
    parser.add_argument(
        "--data-url",
        default=CIFAR10_URL,
        help="where to download cifar-10-python.tar.gz from: the official URL, a mirror, or "
        "a file:// URL (default: %(default)s)",
    )
    parser.add_argument(
        "--fallback",
        choices=FALLBACKS,
        default=os.environ.get("RUNYARD_CIFAR10_FALLBACK") or None,
        help="when CIFAR-10 cannot be downloaded, train on scikit-learn's digits instead "
        "(default: $RUNYARD_CIFAR10_FALLBACK, else none: no download is an error)",
    )
    parser.add_argument("--limit", type=int, default=None, help="use the first N train images")
    parser.add_argument(
        "--log-every", type=int, default=2000, help="batches per loss line (default: 2000)"
    )
    parser.add_argument(
        "--num-threads",
        type=int,
        default=1,
        # On a small shared machine two intra-op threads ran this tiny network 3-6x slower
        # than one: the batches are too small to split, and the threads fight for cores.
        help="torch.set_num_threads (default: 1)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed torch for a repeatable run")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "log_every", "num_threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


def evaluate(net: Net, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Accuracy on the test split (the tutorial has no such step; the studio charts it)."""
    net.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(labels), 1000):
            outputs = net(images[start : start + 1000])
            correct += int((outputs.argmax(dim=1) == labels[start : start + 1000]).sum())
    net.train()
    return correct / len(labels)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Line by line even into a pipe, so that a submitted run's log tails live.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    torch.set_num_threads(args.num_threads)
    if args.seed is not None:
        torch.manual_seed(args.seed)

    # download CIFAR 10 data (our own reader: torchvision does not import beside the CPU
    # torch wheel used here)
    try:
        dataset = load_data(
            args.data_path, fallback=args.fallback, limit=args.limit, url=args.data_url
        )
    except DataError as err:
        print(f"train.py: {err}", file=sys.stderr)
        return 2
    trainset = TensorDataset(
        torch.from_numpy(dataset.train_images), torch.from_numpy(dataset.train_labels)
    )
    # num_workers=0 where the tutorial has 2: the whole split is already a tensor in memory,
    # so worker processes would only add start-up time and compete for the same cores.
    trainloader = DataLoader(trainset, batch_size=args.batch_size, shuffle=True, num_workers=0)
    test_images = torch.from_numpy(dataset.test_images)
    test_labels = torch.from_numpy(dataset.test_labels)
    print(f"data: {dataset.name}, {len(trainset)} train and {len(test_labels)} test images")

    # define convolutional network
    net = Net()

    # set up pytorch loss /  optimizer
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum)

    # train the network
    for epoch in range(args.epochs):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            # unpack the data
            inputs, labels = data

            # zero the parameter gradients
            optimizer.zero_grad()

            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            # print statistics
            running_loss += loss.item()
            if i % args.log_every == args.log_every - 1:
                loss = running_loss / args.log_every
                # log loss metric to Runyard
                run.log("loss", loss)
                print(f"epoch={epoch + 1}, batch={i + 1:5}: loss {loss:.2f}")
                running_loss = 0.0

        # Beyond the tutorial: a test accuracy and the learning rate for the studio's charts.
        acc = evaluate(net, test_images, test_labels)
        lr = optimizer.param_groups[0]["lr"]
        run.log("accuracy", acc)
        run.log("lr", lr)
        print(f"epoch={epoch + 1}: test accuracy {acc:.3f}")

    print("Finished Training")

    # The runner collects ./outputs with the run.
    os.makedirs("outputs", exist_ok=True)
    torch.save(net.state_dict(), os.path.join("outputs", "model.pt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

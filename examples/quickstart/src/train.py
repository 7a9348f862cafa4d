"""The quickstart's training script: fits y = 3x + 1 by gradient descent, with nothing
but the standard library, and logs loss and accuracy each epoch.

    runyard submit train.py --epochs 5 --lr 0.1 --experiment day1 --source-dir src --wait
    python src/train.py          # the same code, as an offline run
"""

from __future__ import annotations

import argparse
import random

from runyard.core import Run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    run = Run.get_context()  # the submitted run; an offline run under plain `python`
    rng = random.Random(0)
    data = [(x, 3 * x + 1 + rng.gauss(0, 0.1)) for x in (rng.uniform(-1, 1) for _ in range(200))]
    w = b = 0.0
    for epoch in range(args.epochs):
        for x, y in data:
            error = w * x + b - y
            w -= args.lr * error * x / len(data) * 10
            b -= args.lr * error / len(data) * 10
        loss = sum((w * x + b - y) ** 2 for x, y in data) / len(data)
        accuracy = sum(abs(w * x + b - y) < 0.25 for x, y in data) / len(data)
        run.log("loss", loss)
        run.log("accuracy", accuracy)
        print(f"epoch {epoch + 1}: loss {loss:.4f}, accuracy {accuracy:.2f}")
    run.log("lr", args.lr)
    run.complete()


if __name__ == "__main__":
    main()

# A one-process "distributed" training script: it reads the rank variables a
# distributed launcher would set (defaulting to a world of one) and logs per epoch.
import argparse
import os

from runyard.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
args = parser.parse_args()

run = Run.get_context()
rank = int(os.environ.get("RANK", "0"))
world = int(os.environ.get("WORLD_SIZE", "1"))
for epoch in range(args.epochs):
    run.log("epoch", epoch)
run.log("world_size", world)
print(f"rank {rank} of {world} done")

# The notebook's training script does this: its first argument is the mounted input,
# opened as a file; its second the output folder.
import os
import sys

source, destination = sys.argv[1], sys.argv[2]
print(f"input {source}")
print(f"output {destination}")
with open(source) as f:
    text = f.read()
with open(os.path.join(destination, "output.csv"), "w") as out:
    out.write(text)

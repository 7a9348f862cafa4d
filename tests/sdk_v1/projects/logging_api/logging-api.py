# SDK-v1 notebook cells, following logging-api.ipynb in Azure/MachineLearningNotebooks
# (how-to-use-azureml/track-and-monitor-experiments/logging-api): an interactive run
# that logs each kind of value, tags, a file, then completes. Written for this suite
# with that notebook's SDK calls; the only change is azureml -> runyard.
import os

import runyard.core
from runyard.core import Experiment, Workspace

print(
    "This notebook was created using SDK version ..., you are currently running the",
    runyard.core.VERSION,
)

ws = Workspace.from_config()
print("Workspace name: " + ws.name, "Azure region: " + ws.location, sep="\n")

exp = Experiment(workspace=ws, name="logging-api-test")
run = exp.start_logging()

# Log a single number
run.log(name="a number", value=123)
# Log a string
run.log(name="a string", value="the run is going")
# Log a numeric list as a series of points
run.log_list(name="Fibonacci", value=[0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89])
# Log rows of a table
for i in range(-10, 10):
    angle = i / 2.0
    run.log_row(name="Sine Wave", angle=angle, sine=round(angle - angle**3 / 6, 4))
# Log a table
run.log_table(name="Sizes", value={"count": [1, 2, 3], "size": [10, 20, 30]})

# Tags and a file
run.tag("Pipeline", "Preprocessing")
with open("myfile.txt", "w") as f:
    f.write("some text\n")
run.upload_file(name="outputs/myfile.txt", path_or_stream="./myfile.txt")
os.remove("myfile.txt")

run.complete()
print(run.get_status())
print(run.get_metrics()["a number"])

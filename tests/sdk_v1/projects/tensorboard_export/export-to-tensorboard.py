# SDK-v1 notebook cells, following export-run-history-to-tensorboard.ipynb in
# Azure/MachineLearningNotebooks (how-to-use-azureml/track-and-monitor-experiments/
# tensorboard/export-run-history-to-tensorboard): an interactive run tries a few ridge
# regressions in child runs, logs each alpha and its error on the root run, exports the
# run history as TensorBoard logs and serves them. Written for this suite with that
# notebook's SDK calls; the only change is azureml -> runyard.
import os
import sys

import runyard.core
from runyard.core import Experiment, Workspace
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

print("SDK version:", runyard.core.VERSION)
ws = Workspace.from_config()
print("Workspace name: " + ws.name, "Azure region: " + ws.location, sep="\n")

exp = Experiment(ws, "export-to-tensorboard")
root_run = exp.start_logging()

X, y = load_diabetes(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

for alpha in [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]:
    with root_run.child_run("alpha" + str(alpha)) as run:
        model = Ridge(alpha=alpha).fit(x_train, y_train)
        error = mean_squared_error(model.predict(x_test), y_test)
        root_run.log("alpha", alpha)
        root_run.log("mse", error)

from runyard.tensorboard.export import export_to_tensorboard

logdir = "exportedTBlogs"
if not os.path.exists(os.path.join(os.getcwd(), logdir)):
    os.mkdir(os.path.join(os.getcwd(), logdir))
export_to_tensorboard(root_run, logdir)
root_run.complete()

from runyard.tensorboard import Tensorboard

# The notebook serves on 6006; a test machine may have that port taken.
tb = Tensorboard([], local_root=logdir, port=int(sys.argv[1]) if len(sys.argv) > 1 else 6006)
print(tb.start())
tb.stop()
print(root_run.get_status())

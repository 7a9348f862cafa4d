# SDK-v1 notebook cells, following manage-runs.ipynb in Azure/MachineLearningNotebooks
# (how-to-use-azureml/track-and-monitor-experiments/manage-runs): start and complete an
# interactive run, tag it and add properties, find runs by tag, and make child runs
# with a context-managed parent. Written for this suite with that notebook's SDK calls;
# the only change is azureml -> runyard.
from runyard.core import Experiment, Run, Workspace

ws = Workspace.from_config()
exp = Experiment(workspace=ws, name="explore-runs")

notebook_run = exp.start_logging()
notebook_run.log(name="message", value="Hello from run!")
print(notebook_run.get_status())
notebook_run.complete()
print(notebook_run.get_status())

local_run = exp.start_logging()
local_run.add_properties({"author": "azureml-user"})
local_run.tag("quality", "great run")
print(local_run.get_tags())
local_run.tag("quality", "fantastic run")
print(local_run.get_tags())
local_run.complete()

tagged = list(exp.get_runs(tags={"quality": "fantastic run"}))
print("tagged runs:", len(tagged))

with exp.start_logging() as parent_run:
    parent_run.log(name="Is parent run", value=True)
    for i in range(3):
        child = parent_run.child_run()
        child.log(name="child index", value=i)
        child.complete()
print(parent_run.get_status())
print("children:", len(list(parent_run.get_children())))

fetched = Run.get(ws, parent_run.id)
print("fetched", fetched.get_status(), fetched.get_metrics()["Is parent run"])

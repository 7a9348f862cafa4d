# SDK-v1 control script, following the calls the SDK's reference documents for
# azureml.core.Experiment (the class's own example: archive, reactivate(new_name=...),
# list(view_type=...) with its spelling of the view types; and tag, set_tags,
# remove_tags, tags, refresh, list(tags=...)). Written for this suite; the only change
# from SDK-v1 is azureml -> runyard. (The example's names have spaces, which the cloud
# refuses as Runyard does: these use dashes.)
from runyard.core import Experiment, Workspace

ws = Workspace.from_config()

experiment1 = Experiment(ws, "active-experiment")
experiment1.tag("team", "vision")
experiment1.set_tags({"stage": "baseline", "owner": "alice"})
experiment1.tag("flag")  # a tag with no value
experiment1.remove_tags(["owner"])
print("tags:", sorted(experiment1.tags.items()))

experiment1.archive()
experiment1.reactivate(new_name="previous-active-experiment")
experiment1.refresh()
print("renamed:", experiment1.name, experiment1.archived_time is None)
# A new experiment under the name the renamed one left.
experiment2 = Experiment(ws, "active-experiment")

old = Experiment(ws, "old-experiment")
old.archive()

tagged = Experiment.list(ws, tags={"team": "vision"})
print("tagged:", [e.name for e in tagged])
archived = Experiment.list(ws, view_type="ARCHIVED_ONLY")
print("archived:", [e.name for e in archived])
names = sorted(e.name for e in Experiment.list(ws, view_type="ALL"))
print("all:", names)
same = Experiment.list(ws, experiment_name="active-experiment", view_type="All")
print("by name:", [(e.name, e.id == experiment2.id != experiment1.id) for e in same])

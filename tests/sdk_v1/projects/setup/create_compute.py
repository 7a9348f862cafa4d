# SDK-v1 compute set-up, following 02-create-compute.py of the get-started tutorial
# (tutorials/get-started-day1/IDE-users in Azure/MachineLearningNotebooks) and the
# cluster cell of train-on-amlcompute.ipynb: find the cluster or create it, wait, show
# its status. Written for this suite; the only change from SDK-v1 is azureml -> runyard.
from runyard.core import Workspace
from runyard.core.compute import AmlCompute, ComputeTarget
from runyard.core.compute_target import ComputeTargetException

ws = Workspace.from_config()

# Choose a name for your CPU cluster
cpu_cluster_name = "cpu-cluster"

# Verify that the cluster does not exist already
try:
    cpu_cluster = ComputeTarget(workspace=ws, name=cpu_cluster_name)
    print("Found existing cluster, use it.")
except ComputeTargetException:
    compute_config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2",
        idle_seconds_before_scaledown=2400,
        min_nodes=0,
        max_nodes=4,
    )
    cpu_cluster = ComputeTarget.create(ws, cpu_cluster_name, compute_config)

cpu_cluster.wait_for_completion(show_output=True)

# use get_status() to get a detailed status for the current cluster.
print(cpu_cluster.get_status().serialize())
print("provisioning state:", cpu_cluster.provisioning_state)

compute_targets = ws.compute_targets
for name, ct in compute_targets.items():
    print(name, ct.type, ct.provisioning_state)
if type(compute_targets[cpu_cluster_name]) is AmlCompute:
    print("found compute target. just use it. " + cpu_cluster_name)

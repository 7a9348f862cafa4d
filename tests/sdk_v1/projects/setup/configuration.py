# SDK-v1 workspace set-up, following the cells of configuration.ipynb in
# Azure/MachineLearningNotebooks: check the SDK version, try the workspace, create it,
# write its config, load it back. Written for this suite with that notebook's SDK calls;
# the only change from SDK-v1 code is azureml -> runyard.
import os

import runyard.core
from runyard.core import Workspace

print("SDK version:", runyard.core.VERSION)

subscription_id = os.getenv("SUBSCRIPTION_ID", default="<my-subscription-id>")
resource_group = os.getenv("RESOURCE_GROUP", default="<my-resource-group>")
workspace_name = os.getenv("WORKSPACE_NAME", default="<my-workspace-name>")
workspace_region = os.getenv("WORKSPACE_REGION", default="eastus2")

try:
    ws = Workspace(
        subscription_id=subscription_id,
        resource_group=resource_group,
        workspace_name=workspace_name,
    )
    ws.write_config()
    print("Workspace configuration succeeded. Skip the workspace creation steps below")
except Exception:
    print("Workspace not accessible. Change your parameters or create a new workspace below")

ws = Workspace.create(
    name=workspace_name,
    subscription_id=subscription_id,
    resource_group=resource_group,
    location=workspace_region,
    create_resource_group=True,
    exist_ok=True,
)
ws.get_details()
ws.write_config()

ws = Workspace.from_config()
print(
    "Workspace name: " + ws.name,
    "Azure region: " + ws.location,
    "Subscription id: " + ws.subscription_id,
    "Resource group: " + ws.resource_group,
    sep="\n",
)

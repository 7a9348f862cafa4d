# 05-upload-data.py, from the seed tutorial's part 3 ("Use your own data"), with only
# azureml -> runyard in its import lines.
from runyard.core import Workspace
ws = Workspace.from_config()
datastore = ws.get_default_datastore()
datastore.upload(src_dir='./data',
                 target_path='datasets/cifar10',
                 overwrite=True)

# train.py in the shape of the tutorial's part 3: the data comes from --data_path (the
# mounted dataset); a torch DataLoader with two forked workers reads every file.
import argparse
import os

import torch
from runyard.core import Run


class Files(torch.utils.data.Dataset):
    def __init__(self, root):
        self.paths = sorted(
            os.path.join(d, f) for d, _, names in os.walk(root, followlinks=True) for f in names
        )

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with open(self.paths[i], "rb") as f:
            return torch.tensor(len(f.read()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument('--data_path', type=str, help='Path to the training data')
    parser.add_argument('--learning_rate', type=float, default=0.001)
    parser.add_argument('--momentum', type=float, default=0.9)
    args = parser.parse_args()
    print("===== DATA =====")
    print("DATA PATH: " + args.data_path)
    print("LIST FILES IN DATA PATH...")
    print(os.listdir(args.data_path))
    print("================")
    run = Run.get_context()
    loader = torch.utils.data.DataLoader(Files(args.data_path), batch_size=4, num_workers=2)
    total = int(sum(int(batch.sum()) for batch in loader))
    run.log('files', len(loader.dataset))
    run.log('bytes', total)
    run.log('learning_rate', args.learning_rate)
    run.log('momentum', args.momentum)
    run.log('data_path', args.data_path)
    run.log('input_path', run.input_datasets['input'])
    print('Finished Training')

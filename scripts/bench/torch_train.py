#!/usr/bin/env python3
"""PyTorch baseline for dptrain's benchmarks: the same presets, optimizer and batch size, trained
on the same MNIST files, reporting training samples/s of one epoch (no evaluation), the way
dptrain's `samples_per_s` counts. PyTorch is a comparison only, never a dependency of dptrain.

  /usr/bin/python3 scripts/bench/torch_train.py --model cnn2710 --batch 2048 --opt adam \
      --lr 0.01 --threads 1 [--channels-last] [--epochs 1] [--train N]
"""
import argparse
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:
    sys.exit(f"torch_train.py: missing Python module {e.name} (Debian: python3-torch)")


def preset(name):
    c = nn.Conv2d
    if name == "mlp300":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.Sigmoid(), nn.Linear(300, 10))
    if name == "cnn2710":
        return nn.Sequential(c(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             c(16, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(196, 10))
    if name == "cnn8-16-32":
        return nn.Sequential(c(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             c(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             c(16, 32, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(1568, 10))
    if name == "cnn50-100":
        return nn.Sequential(c(1, 50, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             c(50, 100, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(4900, 10))
    raise SystemExit(f"unknown model {name}")


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndims = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndims).reshape(dims)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="cnn2710")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--opt", default="sgd", choices=["sgd", "adam"])
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train", type=int, default=55000, help="training samples per epoch")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x = read_idx(f"{a.data}/train-images-idx3-ubyte")[: a.train]
    y = read_idx(f"{a.data}/train-labels-idx1-ubyte")[: a.train]
    x = (torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1) - 0.1307) / 0.3081
    y = torch.from_numpy(y.astype(np.int64))
    model = preset(a.model)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = (torch.optim.Adam if a.opt == "adam" else torch.optim.SGD)(model.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(a.epochs):
        perm = torch.randperm(len(x))
        start = time.perf_counter()
        correct = 0
        for i in range(0, len(x), a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            correct += (out.argmax(1) == yb).sum().item()
        seconds = time.perf_counter() - start
        print(f"torch {torch.__version__} {a.model} batch {a.batch} threads {a.threads} epoch {epoch + 1}: "
              f"{seconds:.2f} s, {len(x) / seconds:.0f} samples/s, train acc {correct / len(x):.4f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch baseline for dptrain's benchmarks: the same network (built from dptrain's canonical
spec by scripts/dptrain_torch.py, so every preset and spec is covered), optimizer and batch size,
trained on the same data (MNIST's IDX files, or any dataset packed by `dptrain data convert` into
HDF5: other shapes and class counts, and segmentation sets, whose masks make it a per-pixel
loss), reporting training samples/s of one epoch (no evaluation), the way dptrain's
`samples_per_s` counts. PyTorch is a comparison only, never a dependency of dptrain.

  /usr/bin/python3 scripts/bench/torch_train.py --model cnn2710 --batch 2048 --opt adam \
      --lr 0.01 --threads 1 [--momentum M] [--channels-last] [--epochs 1] [--train N]
  build/dptrain data convert data/mnist-seg /tmp/seg.h5
  /usr/bin/python3 scripts/bench/torch_train.py --data /tmp/seg.h5 --model unet --batch 16 \
      --opt adam --lr 0.001 --train 2000
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dptrain_torch  # noqa: E402  (finds an interpreter with torch, or names what is missing)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


def network(model, dptrain, shape, classes, task):
    """The network of a preset name or spec, as dptrain builds it for this data."""
    out = subprocess.run([dptrain, "info", "--model", model, "--input", "x".join(map(str, shape)),
                          "--classes", str(classes), "--task", task],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"torch_train.py: {out.stderr.strip()}")
    spec = out.stdout.splitlines()[0].removeprefix("model ")
    return dptrain_torch.DptrainNet(spec, shape, task)


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndims = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndims).reshape(dims)


def read_data(path, n):
    """(images N x C x H x W standardized, targets, classes, task) of the first n training
    samples: MNIST's IDX folder (MNIST's mean and std), or an HDF5 dataset (each channel's)."""
    if os.path.isdir(path):
        x = read_idx(f"{path}/train-images-idx3-ubyte")[:n]
        y = read_idx(f"{path}/train-labels-idx1-ubyte")[:n]
        x = (torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1) - 0.1307) / 0.3081
        return x, torch.from_numpy(y.astype(np.int64)), 10, "classify"
    with dptrain_torch.h5py.File(path, "r") as f:
        train = f["train"]
        x = train["images"][:n].astype(np.float32) / 255.0
        task = "segment" if "masks" in train else "classify"
        y = train["masks" if task == "segment" else "labels"][:n].astype(np.int64)
        classes = len(f["classes"]) if "classes" in f else int(y.max()) + 1
    if x.ndim == 3:
        x = x[:, None]
    mean, std = x.mean(axis=(0, 2, 3), keepdims=True), x.std(axis=(0, 2, 3), keepdims=True)
    x = (x - mean) / np.where(std > 0, std, 1)
    return torch.from_numpy(x), torch.from_numpy(y), classes, task


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="cnn2710", help="a dptrain preset or spec")
    ap.add_argument("--dptrain", default="build/dptrain", help="the dptrain binary (for specs)")
    ap.add_argument("--data", default="data/mnist", help="an IDX folder or an HDF5 dataset")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--opt", default="sgd", choices=["sgd", "adam"])
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train", type=int, default=55000, help="training samples per epoch")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y, classes, task = read_data(a.data, a.train)
    model = network(a.model, a.dptrain, tuple(x.shape[1:]), classes, task).train()
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if a.opt == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
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
            correct += (out.argmax(1) == yb).float().mean().item() * len(yb)
        seconds = time.perf_counter() - start
        print(f"torch {torch.__version__} {a.model} batch {a.batch} threads {a.threads} epoch {epoch + 1}: "
              f"{seconds:.2f} s, {len(x) / seconds:.1f} samples/s, train acc {correct / len(x):.4f}")


if __name__ == "__main__":
    main()

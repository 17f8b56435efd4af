#!/usr/bin/env python3
"""PyTorch baseline for dptrain's benchmarks: the same network (built from dptrain's canonical
spec by scripts/dptrain_torch.py, so every preset and spec is covered), optimizer and batch size,
trained on the same data (MNIST's IDX files, or any dataset packed by `dptrain data convert` into
HDF5: other shapes and class counts, and segmentation sets, whose masks make it a per-pixel
loss), reporting training samples/s of one epoch (no evaluation), the way dptrain's
`samples_per_s` counts. PyTorch is a comparison only, never a dependency of dptrain.

  /usr/bin/python3 scripts/bench/torch_train.py --model cnn2710 --batch 2048 --opt adam \
      --lr 0.01 --threads 1 [--momentum M] [--channels-last] [--epochs 1] [--train N] \
      [--micro-batch M] [--infer N] [--json]

--micro-batch M accumulates each batch's gradients over forward/backward passes of M samples
(one optimizer step a batch, as dptrain's --micro-batch), for batches too large for memory in
one pass. --infer N then times inference (evaluation mode, no gradients) on the first N test
images in chunks of 256, as `dptrain eval` does. --json adds one JSON object as the last line:
train_samples, train_seconds, train_samples_per_s, infer_samples, infer_seconds,
infer_samples_per_s (of the last epoch), torch version and threads (scripts/bench/run reads it).

For whole recipes (scripts/bench/race): --sched const, exp:GAMMA (lr * GAMMA^epoch) or
onecycle[:PCT] (OneCycleLR per step, peak --lr after PCT of the steps, 0.3; no momentum
cycling, as dptrain's), and after each epoch, as dptrain train does, --val N (accuracy on the N
training images after the --train ones) and --test N (on the first N test images); the JSON
then has val_acc and test_acc of the last epoch.
  build/dptrain data convert data/mnist-seg /tmp/seg.h5
  /usr/bin/python3 scripts/bench/torch_train.py --data /tmp/seg.h5 --model unet --batch 16 \
      --opt adam --lr 0.001 --train 2000
"""
import argparse
import json
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


def read_test(path, n):
    """The first n test images, standardized as read_data does (an HDF5 set: with its own
    per-channel statistics, enough for timing), for inference timing; MNIST's with their labels
    (else None)."""
    if os.path.isdir(path):
        x = read_idx(f"{path}/t10k-images-idx3-ubyte")[:n]
        y = torch.from_numpy(read_idx(f"{path}/t10k-labels-idx1-ubyte")[:n].astype(np.int64))
        return (torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1) - 0.1307) / 0.3081, y
    with dptrain_torch.h5py.File(path, "r") as f:
        x = f["test"]["images"][:n].astype(np.float32) / 255.0
    if x.ndim == 3:
        x = x[:, None]
    mean, std = x.mean(axis=(0, 2, 3), keepdims=True), x.std(axis=(0, 2, 3), keepdims=True)
    return torch.from_numpy((x - mean) / np.where(std > 0, std, 1)), None


def infer(model, x, chunk=256):
    """Seconds to compute the logits of every image of x, chunk images at a time."""
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(x), chunk):
            model(x[i:i + chunk])
    seconds = time.perf_counter() - start
    model.train()
    return seconds


def accuracy(model, x, y, chunk=256):
    """The share of x's images whose largest logit is their label y."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), chunk):
            correct += (model(x[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum().item()
    model.train()
    return correct / len(x)


def scheduler(opt, text, epochs, steps):
    """(per-step scheduler or None, per-epoch scheduler or None) of dptrain's --sched text."""
    kind, _, arg = text.partition(":")
    if kind == "exp":
        return None, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=float(arg))
    if kind == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=opt.param_groups[0]["lr"], total_steps=epochs * steps,
            pct_start=float(arg or 0.3), cycle_momentum=False), None
    if kind == "const":
        return None, None
    sys.exit(f"torch_train.py: --sched {text}: const, exp:GAMMA or onecycle[:PCT]")


def train_step(model, opt, loss_fn, xb, yb, micro):
    """One optimizer step on the batch (xb, yb), its gradients summed over passes of micro
    samples (0: one pass), each pass's mean loss weighted by its share of the batch. Returns the
    batch's correctly classified samples (pixels' mean for segmentation)."""
    opt.zero_grad(set_to_none=True)
    micro = micro or len(xb)
    correct = 0.0
    for j in range(0, len(xb), micro):
        xm, ym = xb[j:j + micro], yb[j:j + micro]
        out = model(xm)
        loss = loss_fn(out, ym) * (len(xm) / len(xb))
        loss.backward()
        correct += (out.argmax(1) == ym).float().mean().item() * len(ym)
    opt.step()
    return correct


def read_data(path, n, skip=0):
    """(images N x C x H x W standardized, targets, classes, task) of the first n training
    samples after the first skip: MNIST's IDX folder (MNIST's mean and std), or an HDF5 dataset
    (each channel's)."""
    if os.path.isdir(path):
        x = read_idx(f"{path}/train-images-idx3-ubyte")[skip:skip + n]
        y = read_idx(f"{path}/train-labels-idx1-ubyte")[skip:skip + n]
        x = (torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1) - 0.1307) / 0.3081
        return x, torch.from_numpy(y.astype(np.int64)), 10, "classify"
    with dptrain_torch.h5py.File(path, "r") as f:
        train = f["train"]
        x = train["images"][skip:skip + n].astype(np.float32) / 255.0
        task = "segment" if "masks" in train else "classify"
        y = train["masks" if task == "segment" else "labels"][skip:skip + n].astype(np.int64)
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
    ap.add_argument("--micro-batch", type=int, default=0,
                    help="samples per forward/backward pass, gradients accumulated (0: the batch)")
    ap.add_argument("--infer", type=int, default=0, metavar="N",
                    help="after each epoch, time inference on the first N test images")
    ap.add_argument("--sched", default="const", help="const, exp:GAMMA or onecycle[:PCT]")
    ap.add_argument("--val", type=int, default=0, metavar="N",
                    help="after each epoch, accuracy on the N training images after --train's")
    ap.add_argument("--test", type=int, default=0, metavar="N",
                    help="after each epoch, accuracy on the first N test images (MNIST)")
    ap.add_argument("--json", action="store_true", help="end with one JSON line of the timings")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x, y, classes, task = read_data(a.data, a.train)
    x_val, y_val = read_data(a.data, a.val, skip=a.train)[:2] if a.val else (None, None)
    x_test = read_test(a.data, a.infer)[0] if a.infer else None
    x_acc, y_acc = read_test(a.data, a.test) if a.test else (None, None)
    if a.test and y_acc is None:
        sys.exit("torch_train.py: --test needs MNIST's IDX folder as --data")
    model = network(a.model, a.dptrain, tuple(x.shape[1:]), classes, task).train()
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
        if x_test is not None:
            x_test = x_test.contiguous(memory_format=torch.channels_last)
    if a.opt == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    loss_fn = nn.CrossEntropyLoss()
    per_step, per_epoch = scheduler(opt, a.sched, a.epochs, (len(x) + a.batch - 1) // a.batch)
    accuracies = {}
    for epoch in range(a.epochs):
        perm = torch.randperm(len(x))
        start = time.perf_counter()
        correct = 0
        for i in range(0, len(x), a.batch):
            idx = perm[i:i + a.batch]
            correct += train_step(model, opt, loss_fn, x[idx], y[idx], a.micro_batch)
            if per_step:
                per_step.step()
        seconds = time.perf_counter() - start
        if per_epoch:
            per_epoch.step()
        if x_val is not None:
            accuracies["val_acc"] = accuracy(model, x_val, y_val)
        if x_acc is not None:
            accuracies["test_acc"] = accuracy(model, x_acc, y_acc)
        print(f"torch {torch.__version__} {a.model} batch {a.batch} threads {a.threads} epoch {epoch + 1}: "
              f"{seconds:.2f} s, {len(x) / seconds:.1f} samples/s, train acc {correct / len(x):.4f}"
              + "".join(f", {k.replace('_', ' ')} {v:.4f}" for k, v in accuracies.items()),
              flush=True)
        infer_seconds = infer(model, x_test) if x_test is not None else 0.0
    if a.json:
        n_test = 0 if x_test is None else len(x_test)
        print(json.dumps({"torch": torch.__version__, "model": a.model, "batch": a.batch,
                          "micro_batch": a.micro_batch, "threads": a.threads,
                          "train_samples": len(x), "train_seconds": seconds,
                          "train_samples_per_s": len(x) / seconds,
                          "infer_samples": n_test, "infer_seconds": infer_seconds,
                          "infer_samples_per_s": n_test / infer_seconds if n_test else None,
                          **accuracies}))


if __name__ == "__main__":
    main()

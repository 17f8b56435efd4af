#!/usr/bin/env python3
"""The PyTorch oracle: recomputes what oracle_dump wrote and compares.

    torch_oracle.py [--tol 1e-4] [--double] FILE.h5 ...

For each file (oracle_dump's output): loads the network with scripts/dptrain_torch.py and checks
  - the parameter and buffer counts against dptrain's (/model attributes parameters, buffers);
  - evaluation-mode logits against /oracle/logits;
  - in training mode (dropout p forced to 0, as oracle_dump did): the logits, the mean loss of
    F.cross_entropy and every parameter gradient against /oracle/grads/<node>/<tensor>;
    for a segmentation model (oracle_dump --segment: /oracle task "segment") the logits are
    (N, K, H, W) and the labels (N, H, W), F.cross_entropy's mean over the N*H*W pixels, or
    with /oracle/class_weights its weighted mean (divided by the summed weights of the
    pixels' labels);
  - BatchNorm's running statistics: PyTorch's buffers after that training forward must equal
    (1 - momentum) * old + momentum * stats / N, with dptrain's statistics segment (N * batch
    mean, N * unbiased batch variance) divided by N as the reducer does, and must equal what
    dptrain's update_state made of them (/oracle/updated), num_batches_tracked old + 1.
A tensor passes when max|torch - dptrain| <= tol * max|dptrain| + 1e-6; its error is reported as
max|torch - dptrain| / (max|dptrain| + 1e-6 / tol), which is <= tol exactly when it passes (and
is max|torch - dptrain| / max|dptrain| for all but tiny tensors); the table shows the worst of
each check and names the worst gradient.

Kinks: a gradient is discontinuous where a ReLU (leakyrelu, elu) input is 0 and where a max-pool
window's two largest inputs tie; there a rounding difference between two correct float32
implementations sends the gradient another way (in a ResNet on 8 images, one flipped ReLU out of
millions moves some weight gradients by 10%). oracle_dump records the inputs within 1e-4 of the
tensor's largest magnitude of a kink and the branch dptrain took, and the training pass here
takes the same branch there (forward values are PyTorch's own). The table shows how many
positions were recorded and at how many PyTorch alone would have branched otherwise (flips).

Ill-conditioned values: a gradient that is 0 in exact arithmetic (a bias feeding a BatchNorm in
training mode) is rounding noise on both sides, relative to nothing. When a float32 comparison
fails, the network is recomputed in float64 (same kinks) and the tensor still passes when
max|dptrain - float64| <= 3 * max|torch float32 - float64|, i.e. dptrain is about as accurate as
PyTorch itself there; such tensors are listed as notes and their row's gradient error starred.
--double always recomputes in float64 and shows how far each side is from it.
Prints one table row per file; exits 1 if any check fails.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import dptrain_torch  # noqa: E402  (requires torch, h5py and numpy, or says which is missing)
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

ABS = 1e-6
RESCUE = 3.0


class Check:
    """The worst relative error of a group of tensors, and the failures."""

    def __init__(self, tol):
        self.tol, self.worst, self.where, self.failures = tol, 0.0, "", []
        self.failing = {}  # what -> (PyTorch's, dptrain's), for a float64 second opinion
        self.rescued = []

    def __call__(self, what, have, want):
        have = np.asarray(have, np.float64)
        want = np.asarray(want, np.float64)
        if have.shape != want.shape:
            self.failures.append(f"{what}: PyTorch's shape {have.shape}, dptrain's {want.shape}")
            self.worst, self.where = float("inf"), what
            return
        diff = float(np.max(np.abs(have - want))) if have.size else 0.0
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        rel = diff / (scale + ABS / self.tol)  # <= tol exactly when the tensor passes
        if not np.isfinite(have).all() or not np.isfinite(want).all():
            rel = float("inf")
        if rel >= self.worst:
            self.worst, self.where = rel, what
        if not (diff <= self.tol * scale + ABS):
            i = np.unravel_index(int(np.argmax(np.abs(have - want))), have.shape) \
                if have.size else ()
            self.failing[what] = (have, want)
            self.failures.append(
                f"{what}: max|torch - dptrain| = {diff:.3g} > {self.tol:g} * max|dptrain| "
                f"({scale:.3g}) + {ABS:g}; at {tuple(int(k) for k in i)} torch "
                f"{have[i]:.9g}, dptrain {want[i]:.9g}")

    def second_opinion(self, exact):
        """Lets a failing tensor pass when float64 shows dptrain at least as accurate as PyTorch's
        float32 (within RESCUE times its error): an ill-conditioned value, not a wrong one."""
        keep = []
        for line in self.failures:
            what = line.split(":")[0]
            if what not in self.failing or what not in exact:
                keep.append(line)
                continue
            have, want = self.failing[what]
            ref = np.asarray(exact[what], np.float64)
            e_torch = float(np.max(np.abs(have - ref)))
            e_dpt = float(np.max(np.abs(want - ref)))
            if e_dpt <= RESCUE * e_torch:
                self.rescued.append(f"{what}: ill-conditioned: max|dptrain - float64| = "
                                    f"{e_dpt:.3g}, max|torch float32 - float64| = {e_torch:.3g}")
            else:
                keep.append(f"{line}; float64 says max|dptrain - float64| = {e_dpt:.3g}, "
                            f"max|torch float32 - float64| = {e_torch:.3g}")
        self.failures = keep


class _PointwiseKink(torch.autograd.Function):
    """The activation's own forward; a backward whose branch (x > 0 or not) is dptrain's at the
    recorded positions and PyTorch's everywhere else."""

    @staticmethod
    def forward(ctx, x, module, index, positive):
        y = module(x)
        pos = (x > 0).reshape(-1).clone()
        ctx.flips = int((pos[index] != positive).sum())
        pos[index] = positive
        ctx.save_for_backward(x, pos.view_as(x))
        ctx.module = module
        return y

    @staticmethod
    def backward(ctx, g):
        x, pos = ctx.saved_tensors
        m = ctx.module
        if isinstance(m, nn.ReLU):
            d = pos.to(g.dtype)
        elif isinstance(m, nn.LeakyReLU):
            d = torch.where(pos, torch.ones_like(x), torch.full_like(x, m.negative_slope))
        elif isinstance(m, nn.ELU):
            d = torch.where(pos, torch.ones_like(x), m.alpha * torch.exp(x))
        else:
            raise TypeError(type(m))
        return g * d, None, None, None


class _MaxPoolKink(torch.autograd.Function):
    """MaxPool2d whose backward routes each window's gradient to PyTorch's argmax, but to
    dptrain's at the recorded windows."""

    @staticmethod
    def forward(ctx, x, module, index, argmax):
        y, where = F.max_pool2d(x, module.kernel_size, module.stride, return_indices=True)
        N, C, H, W = x.shape
        flat = (where + torch.arange(N * C).view(N, C, 1, 1) * (H * W)).reshape(-1)
        ctx.flips = int((flat[index] != argmax).sum())
        flat[index] = argmax
        ctx.save_for_backward(flat)
        ctx.shape = x.shape
        return y

    @staticmethod
    def backward(ctx, g):
        (flat,) = ctx.saved_tensors
        dx = torch.zeros(int(np.prod(ctx.shape)), dtype=g.dtype)
        dx.index_add_(0, flat, g.reshape(-1))
        return dx.view(ctx.shape), None, None, None


class Kinked(nn.Module):
    """A ReLU/LeakyReLU/ELU/MaxPool2d that follows dptrain's choices at its recorded kinks;
    `flips` counts the positions where PyTorch alone would have chosen otherwise."""

    def __init__(self, module, index, choice):
        super().__init__()
        self.inner, self.flips = module, 0
        self.index, self.choice = torch.from_numpy(index), torch.from_numpy(choice)

    def forward(self, x):
        if isinstance(self.inner, nn.MaxPool2d):
            fn = _MaxPoolKink
            y = fn.apply(x, self.inner, self.index, self.choice)
        else:
            fn = _PointwiseKink
            y = fn.apply(x, self.inner, self.index, self.choice.bool())
        self.flips += int(y.grad_fn.flips) if y.grad_fn is not None else 0
        return y


def follow_kinks(net, kinks):
    """Wraps the nodes that have recorded kinks; returns the wrappers."""
    wrapped = []
    for name, (index, choice) in kinks.items():
        w = Kinked(getattr(net, name), index, choice)
        setattr(net, name, w)
        wrapped.append(w)
    return wrapped


def bn_modules(net):
    return [(n, m) for n, m in net.named_children()
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]


def train_pass(net, x, y, weight=None):
    """Training-mode logits, mean loss and parameter gradients; BatchNorm buffers move. y is
    (N,) for a classifier's (N, K) logits, (N, H, W) for a segmentation model's (N, K, H, W);
    weight: per-class weights (PyTorch's weighted mean) or None."""
    net.train()
    net.zero_grad(set_to_none=True)
    z = net(x)
    loss = F.cross_entropy(z, y, weight=None if weight is None else weight.to(z.dtype))
    loss.backward()
    return z.detach(), float(loss), {k: p.grad for k, p in net.named_parameters()}


def check_file(path, tol, double):
    net = dptrain_torch.load(path)
    for m in net.modules():
        if isinstance(m, (nn.Dropout, nn.Dropout2d)):
            m.p = 0.0  # oracle_dump forced every dropout's p to 0
    with h5py.File(path, "r") as f:
        g, o = f["model"], f["oracle"]
        spec = g.attrs["spec"]
        spec = spec.decode() if isinstance(spec, bytes) else str(spec)
        d_params, d_buffers = int(g.attrs["parameters"]), int(g.attrs["buffers"])
        n = int(o.attrs["n"])
        x = torch.from_numpy(np.asarray(o["input"], np.float32))
        y = torch.from_numpy(np.asarray(o["labels"]).astype(np.int64))
        logits, train_logits = np.asarray(o["logits"]), np.asarray(o["train_logits"])
        d_loss = float(o.attrs["loss"])
        task = o.attrs.get("task", b"classify")
        task = task.decode() if isinstance(task, bytes) else str(task)
        weight = torch.from_numpy(np.asarray(o["class_weights"], np.float32)) \
            if "class_weights" in o else None
        grads = {}
        o["grads"].visititems(lambda name, ds: grads.__setitem__(name.replace("/", "."),
                                                                 np.asarray(ds))
                              if isinstance(ds, h5py.Dataset) else None)
        stats = {k: (np.asarray(v["mean"]), np.asarray(v["var"])) for k, v in o["stats"].items()}
        kinks = {name: (np.asarray(k["index"], np.int64),
                        np.asarray(k["positive" if "positive" in k else "argmax"], np.int64))
                 for name, k in o["kinks"].items()}
        updated = {}
        o["updated"].visititems(lambda name, ds: updated.__setitem__(name.replace("/", "."),
                                                                     np.asarray(ds))
                                if isinstance(ds, h5py.Dataset) else None)

    counts = Check(tol)
    if net.task != task:
        counts.failures.append(f"task: /model says {net.task}, /oracle {task}")
    t_params = dptrain_torch.count_parameters(net)
    t_buffers = sum(b.numel() for b in net.buffers())
    if t_params != d_params:
        counts.failures.append(f"parameters: PyTorch {t_params}, dptrain {d_params}")
    if t_buffers != d_buffers:
        counts.failures.append(f"buffers: PyTorch {t_buffers} values, dptrain {d_buffers}")

    ev = Check(tol)
    with torch.no_grad():
        z_eval = net.eval()(x)
    ev("eval logits", z_eval, logits)

    old = {k: v.clone() for k, v in net.state_dict().items() if "running" in k or "batches" in k}
    wrapped = follow_kinks(net, kinks)
    z, loss, tgrads = train_pass(net, x, y, weight)
    flips = sum(w.flips for w in wrapped)
    nkinks = sum(len(i) for i, _ in kinks.values())
    tr = Check(tol)
    tr("train logits", z, train_logits)
    tr("loss", [loss], [d_loss])
    gr = Check(tol)
    for key, grad in tgrads.items():
        if key not in grads:
            gr.failures.append(f"{key}: no dptrain gradient /oracle/grads/{key.replace('.', '/')}")
            continue
        if grad is None:
            gr.failures.append(f"{key}: PyTorch computed no gradient")
            continue
        gr(f"grad {key}", grad, grads[key])
    for key in set(grads) - set(tgrads):
        gr.failures.append(f"{key}: a dptrain gradient for no PyTorch parameter")

    bn = Check(tol)
    after = net.state_dict()
    for name, m in bn_modules(net):
        if name not in stats:
            bn.failures.append(f"{name}: no statistics in /oracle/stats/{name}")
            continue
        mom = m.momentum
        mean, var = (s.astype(np.float64) / n for s in stats[name])
        for buf, batch in (("running_mean", mean), ("running_var", var)):
            key = f"{name}.{buf}"
            want = (1 - mom) * old[key].double().numpy() + mom * batch
            bn(f"{key} (formula)", after[key], want)
            bn(f"{key} (update_state)", after[key], updated[key])
        key = f"{name}.num_batches_tracked"
        t_nbt, d_nbt = int(after[key]), float(updated[key])
        if t_nbt != int(old[key]) + 1 or d_nbt != t_nbt:
            bn.failures.append(f"{key}: PyTorch {t_nbt}, dptrain {d_nbt:g}, before {int(old[key])}")

    # A second opinion in float64 (same kinks followed) when a float32 comparison failed, or
    # always with --double.
    extra = ""
    if double or ev.failing or tr.failing or gr.failing:
        net64 = dptrain_torch.load(path).double()
        for m in net64.modules():
            if isinstance(m, (nn.Dropout, nn.Dropout2d)):
                m.p = 0.0
        with torch.no_grad():
            z64 = net64.eval()(x.double()).numpy()
        follow_kinks(net64, kinks)
        zt64, loss64, g64 = train_pass(net64, x.double(), y, weight)
        exact = {"eval logits": z64, "train logits": zt64.numpy(), "loss": [loss64]}
        exact.update({f"grad {k}": v.numpy() for k, v in g64.items()})
        for c in (ev, tr, gr):
            c.second_opinion(exact)

        def rel(a, b):
            b = np.asarray(b, np.float64)
            return float(np.max(np.abs(np.asarray(a, np.float64) - b)) /
                         (np.max(np.abs(b)) + ABS / tol))
        worst_t = max([rel(z_eval, z64)] + [rel(tgrads[k], g64[k]) for k in g64])
        worst_d = max([rel(logits, z64)] + [rel(grads[k], g64[k]) for k in g64 if k in grads])
        if double:
            extra = f"  vs float64: torch {worst_t:.1e}, dptrain {worst_d:.1e}"

    return {"spec": spec, "task": task, "weighted": weight is not None, "params": (d_params, t_params), "eval": ev, "train": tr, "grads": gr,
            "bn": bn, "counts": counts, "extra": extra, "nbn": len(bn_modules(net)),
            "kinks": (nkinks, flips)}


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="torch_oracle.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--double", action="store_true")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv[1:])
    torch.manual_seed(0)
    failed = 0
    print(f"{'model':<36} {'params dptrain / torch':>23} {'eval':>8} {'train':>8} "
          f"{'grads':>8} {'BN upd':>8} {'kinks/flips':>12}  worst gradient")
    for path in args.files:
        label = os.path.splitext(os.path.basename(path))[0]
        try:
            r = check_file(path, args.tol, args.double)
        except (ValueError, KeyError, OSError, RuntimeError) as e:
            print(f"{label:<36} FAIL: {e}")
            failed += 1
            continue
        problems = [p for k in ("counts", "eval", "train", "grads", "bn") for p in r[k].failures]
        bn = f"{r['bn'].worst:8.1e}" if r["nbn"] else f"{'-':>8}"
        kinks = f"{r['kinks'][0]}/{r['kinks'][1]}"
        star = "*" if r["grads"].rescued else " "
        print(f"{label:<36} {r['params'][0]:>11} / {r['params'][1]:<9} {r['eval'].worst:8.1e} "
              f"{r['train'].worst:8.1e} {r['grads'].worst:8.1e}{star}{bn} {kinks:>12}  "
              f"{r['grads'].where.replace('grad ', '')}{r['extra']}{'  FAIL' if problems else ''}",
              flush=True)
        for c in ("eval", "train", "grads"):
            for note in r[c].rescued:
                print(f"    note {label}: {note}")
        for p in problems[:10]:
            print(f"    FAIL {label}: {p}")
        if len(problems) > 10:
            print(f"    FAIL {label}: ... and {len(problems) - 10} more")
        if problems:
            print(f"    spec: {r['spec']}")
            failed += 1
    print(f"{len(args.files) - failed} of {len(args.files)} models agree with PyTorch "
          f"{torch.__version__} (tolerance {args.tol:g} relative + {ABS:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

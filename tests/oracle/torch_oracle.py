#!/usr/bin/env python3
"""The PyTorch oracle: recomputes what oracle_dump wrote and compares.

    torch_oracle.py [--tol 1e-4] [--double] FILE.h5 ...

For each file (oracle_dump's output): loads the network with scripts/dptrain_torch.py and checks
  - the parameter and buffer counts against dptrain's (/model attributes parameters, buffers);
  - evaluation-mode logits against /oracle/logits;
  - in training mode (dropout p forced to 0, as oracle_dump did): the logits, the mean loss of
    F.cross_entropy and every parameter gradient against /oracle/grads/<node>/<tensor>;
  - BatchNorm's running statistics: PyTorch's buffers after that training forward must equal
    (1 - momentum) * old + momentum * stats / N, with dptrain's statistics segment (N * batch
    mean, N * unbiased batch variance) divided by N as the reducer does, and must equal what
    dptrain's update_state made of them (/oracle/updated), num_batches_tracked old + 1.
A tensor passes when max|torch - dptrain| <= tol * max|dptrain| + 1e-6; its error is reported as
max|torch - dptrain| / max|dptrain|, the worst tensor of each kind of check named. --double
recomputes in float64 too and shows how far each side is from it (which side is wrong).
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


class Check:
    """The worst relative error of a group of tensors, and the failures."""

    def __init__(self, tol):
        self.tol, self.worst, self.where, self.failures = tol, 0.0, "", []

    def __call__(self, what, have, want):
        have = np.asarray(have, np.float64)
        want = np.asarray(want, np.float64)
        if have.shape != want.shape:
            self.failures.append(f"{what}: PyTorch's shape {have.shape}, dptrain's {want.shape}")
            self.worst, self.where = float("inf"), what
            return
        diff = float(np.max(np.abs(have - want))) if have.size else 0.0
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        rel = diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))
        if not np.isfinite(have).all() or not np.isfinite(want).all():
            rel = float("inf")
        if rel >= self.worst:
            self.worst, self.where = rel, what
        if not (diff <= self.tol * scale + ABS):
            i = np.unravel_index(int(np.argmax(np.abs(have - want))), have.shape) \
                if have.size else ()
            self.failures.append(
                f"{what}: max|torch - dptrain| = {diff:.3g} > {self.tol:g} * max|dptrain| "
                f"({scale:.3g}) + {ABS:g}; at {tuple(int(k) for k in i)} torch "
                f"{have[i]:.9g}, dptrain {want[i]:.9g}")


def bn_modules(net):
    return [(n, m) for n, m in net.named_children()
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]


def train_pass(net, x, y):
    """Training-mode logits, mean loss and parameter gradients; BatchNorm buffers move."""
    net.train()
    net.zero_grad(set_to_none=True)
    z = net(x)
    loss = F.cross_entropy(z, y)
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
        grads = {}
        o["grads"].visititems(lambda name, ds: grads.__setitem__(name.replace("/", "."),
                                                                 np.asarray(ds))
                              if isinstance(ds, h5py.Dataset) else None)
        stats = {k: (np.asarray(v["mean"]), np.asarray(v["var"])) for k, v in o["stats"].items()}
        updated = {}
        o["updated"].visititems(lambda name, ds: updated.__setitem__(name.replace("/", "."),
                                                                     np.asarray(ds))
                                if isinstance(ds, h5py.Dataset) else None)

    t_params = dptrain_torch.count_parameters(net)
    t_buffers = sum(b.numel() for b in net.buffers())
    counts = Check(tol)
    if t_params != d_params:
        counts.failures.append(f"parameters: PyTorch {t_params}, dptrain {d_params}")
    if t_buffers != d_buffers:
        counts.failures.append(f"buffers: PyTorch {t_buffers} values, dptrain {d_buffers}")

    ev = Check(tol)
    with torch.no_grad():
        z_eval = net.eval()(x)
    ev("eval logits", z_eval, logits)

    old = {k: v.clone() for k, v in net.state_dict().items() if "running" in k or "batches" in k}
    z, loss, tgrads = train_pass(net, x, y)
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

    extra = ""
    if double:
        net64 = dptrain_torch.load(path).double()
        for m in net64.modules():
            if isinstance(m, (nn.Dropout, nn.Dropout2d)):
                m.p = 0.0
        with torch.no_grad():
            z64 = net64.eval()(x.double()).numpy()
        _, _, g64 = train_pass(net64, x.double(), y)

        def rel(a, b):
            b = np.asarray(b, np.float64)
            return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / max(np.max(np.abs(b)),
                                                                               1e-30))
        worst_t = max([rel(z_eval, z64)] + [rel(tgrads[k], g64[k]) for k in g64])
        worst_d = max([rel(logits, z64)] + [rel(grads[k], g64[k]) for k in g64 if k in grads])
        extra = f"  vs float64: torch {worst_t:.2e}, dptrain {worst_d:.2e}"

    return {"spec": spec, "params": (d_params, t_params), "eval": ev, "train": tr, "grads": gr,
            "bn": bn, "counts": counts, "extra": extra, "nbn": len(bn_modules(net))}


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="torch_oracle.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--double", action="store_true")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv[1:])
    torch.manual_seed(0)
    failed = 0
    print(f"{'model':<28} {'params dptrain/torch':>22} {'eval logits':>11} {'train':>9} "
          f"{'worst grad':>10}  {'BN stats':>8}  worst gradient tensor")
    for path in args.files:
        label = os.path.splitext(os.path.basename(path))[0]
        try:
            r = check_file(path, args.tol, args.double)
        except (ValueError, KeyError, OSError, RuntimeError) as e:
            print(f"{label:<28} FAIL: {e}")
            failed += 1
            continue
        problems = [p for k in ("counts", "eval", "train", "grads", "bn") for p in r[k].failures]
        bn = f"{r['bn'].worst:8.1e}" if r["nbn"] else f"{'-':>8}"
        print(f"{label:<28} {r['params'][0]:>10} / {r['params'][1]:<10} {r['eval'].worst:11.1e} "
              f"{r['train'].worst:9.1e} {r['grads'].worst:10.1e}  {bn}  {r['grads'].where}"
              f"{r['extra']}{'  FAIL' if problems else ''}")
        for p in problems:
            print(f"    FAIL {label}: {p}")
        if problems:
            print(f"    spec: {r['spec']}")
            failed += 1
    print(f"{len(args.files) - failed} of {len(args.files)} models agree with PyTorch "
          f"{torch.__version__} (tolerance {args.tol:g} relative + {ABS:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

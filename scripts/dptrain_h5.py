#!/usr/bin/env python3
"""Reads dptrain's HDF5 run files (checkpoint.h5, best.h5) for the plot and table scripts.

    import dptrain_h5
    run = dptrain_h5.load_run("runs/x/seed-1/checkpoint.h5")
    run.history["val_acc"], run.batch["loss"], run.config["lr"], run.meta["seed"]

Run as a script it prints a checkpoint's history:  scripts/dptrain_h5.py CHECKPOINT
Debian's python3-h5py belongs to /usr/bin/python3; under another interpreter without h5py this
module re-runs the calling script with /usr/bin/python3, or says which module is missing.
"""
import os
import sys


def require(*modules):
    """Imports the modules, or re-executes the running script under /usr/bin/python3 when this
    interpreter lacks them, or exits with one line naming the missing module."""
    missing = None
    for name in modules:
        try:
            __import__(name)
        except ImportError:
            missing = name
            break
    if missing is None:
        return
    system = "/usr/bin/python3"
    script = sys.argv[0] not in ("", "-", "-c")  # code from stdin or -c cannot be run again
    if script and os.path.realpath(sys.executable) != os.path.realpath(system) \
            and os.path.exists(system) and not os.environ.get("DPTRAIN_REEXEC"):
        os.environ["DPTRAIN_REEXEC"] = "1"
        os.execv(system, [system] + sys.argv)
    sys.exit(f"{os.path.basename(sys.argv[0])}: missing Python module {missing} "
             f"(Debian: python3-{missing})")


require("h5py", "numpy")
import h5py  # noqa: E402
import numpy as np  # noqa: E402


class Run:
    """One run's checkpoint: meta, config and model attributes (the model's spec, task,
    parameters...), per-epoch and per-batch history (every dataset of /history and
    /history/batch, by name: dptrain's table of metrics decides which; history's keys begin with
    "epoch")."""

    def __init__(self, path, meta, config, model, history, batch):
        self.path, self.meta, self.config, self.model, self.history, self.batch = \
            path, meta, config, model, history, batch

    @property
    def epochs(self):
        return len(self.history["epoch"])

    def __repr__(self):
        return f"Run({self.path!r}, seed {self.meta.get('seed')}, {self.epochs} epochs)"


def _attrs(group):
    out = {}
    for key, value in group.attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        out[key] = value
    return out


def _datasets(group):
    """{name: array} of the group's datasets, by name."""
    return {k: np.asarray(v) for k, v in group.items() if isinstance(v, h5py.Dataset)}


def load_run(path):
    """The run stored in a dptrain checkpoint; ValueError naming the file if it is not one."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path}: not a readable HDF5 file ({e})") from None
    with f:
        if "meta" not in f or "history" not in f:
            raise ValueError(f"{path}: not a dptrain checkpoint (no /meta or /history)")
        history = _datasets(f["history"])
        if "epoch" not in history:
            raise ValueError(f"{path}: not a dptrain checkpoint (no /history/epoch)")
        history = {"epoch": history.pop("epoch"), **history}
        batch = _datasets(f["history/batch"]) if "batch" in f["history"] else {}
        model = _attrs(f["model"]) if "model" in f else {}
        return Run(path, _attrs(f["meta"]), _attrs(f["config"]), model, history, batch)


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.split("\n\n")[0] + "\n\nusage: dptrain_h5.py CHECKPOINT")
        return 0 if len(argv) == 2 else 2
    try:
        run = load_run(argv[1])
    except ValueError as e:
        print(f"dptrain_h5.py: {e}", file=sys.stderr)
        return 1
    steps = len(next(iter(run.batch.values()), []))
    print(f"{run.path}: seed {run.meta.get('seed')}, model {run.config.get('model')}, "
          f"{run.epochs} epochs, {steps} batches")
    widths = {k: max(12, len(k)) for k in run.history}
    print(" ".join(f"{k:>{w}}" for k, w in widths.items()))
    for e in range(run.epochs):
        print(" ".join(f"{run.history[k][e]:>{w}.6g}" for k, w in widths.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

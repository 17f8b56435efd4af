#!/usr/bin/env python3
"""Plots and tables of an experiment from its HDF5 run files alone.

    scripts/plot.py runs/EXPERIMENT [--pdf] [--log-x] [--std]

The experiment file's `plot` key ([experiment] plot = --log-x) adds its options.

Reads EXPERIMENT/[<grid point>/]seed-<s>/checkpoint.h5 and writes into EXPERIMENT/:
  curves-<config>.png  learning curves: train and test cost and accuracy per epoch, mean over
                       seeds, titled with batch size, learning rate, epochs, training time and
                       where it ran (seed 003's Figure 1)
  spread-epoch.png     validation accuracy and training loss per epoch: mean line, min-max band
                       (and +-1 std with --std) over seeds, configurations overlaid (seed 002's
                       Figure 1); for segmentation runs (/model task "segment") test loss, test
                       mean F1 and test pixel accuracy instead, on a log-x axis (seed 002's
                       Figure 2; --lin-x for a linear one)
  spread-batch.png     the same per batch: batch accuracy and loss (seed 000's Figure 2)
  sweep.png            with a one-setting grid: validation and training accuracy per epoch for
                       each value, and final accuracies against the value (seed 000's Figure 1)
  table.md             final metrics per configuration: parameter count, mean +- std, min, max
                       over seeds (test top-5 too where the runs have it), and
                       z-scores of final test accuracy between configurations (seed 002); for
                       segmentation runs mean F1 and mean IoU columns, and z-scores of final test
                       mean F1
  report.md            the experiment in one page: its description, the command that reruns it
                       (from command.txt and experiment.ini, which scripts/spread and
                       slurm/submit leave in the folder), training time per run, the table and
                       the figures
"""
import argparse
import glob
import math
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dptrain_h5  # noqa: E402  (re-runs this script under /usr/bin/python3 if h5py is missing)

dptrain_h5.require("matplotlib")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import (FormatStrFormatter, LogLocator, MaxNLocator,  # noqa: E402
                               NullFormatter)
import numpy as np  # noqa: E402

FIGSIZE = (12, 4.5)  # inches; at DPI this is 1200 x 450 pixels
DPI = 100
FINAL = [("test_acc", "test accuracy"), ("test_top5", "test top-5"),
         ("val_acc", "validation accuracy"),
         ("train_acc", "train accuracy"), ("train_loss", "train loss"),
         ("test_loss", "test loss"), ("seconds", "epoch time (s)")]
# Segmentation runs (the /model task attribute "segment"): F1 and IoU are means over the classes;
# accuracy is the fraction of pixels right.
FINAL_SEGMENT = [("test_f1", "test mean F1"), ("test_iou", "test mean IoU"),
                 ("test_acc", "test pixel accuracy"), ("val_f1", "validation mean F1"),
                 ("val_iou", "validation mean IoU"), ("train_loss", "train loss"),
                 ("test_loss", "test loss"), ("seconds", "epoch time (s)")]


def task_of(run):
    """"segment" or "classify": the checkpoint's /model task attribute; checkpoints without one
    (written before segmentation) are classification runs."""
    return "segment" if run.model.get("task") == "segment" else "classify"


def is_segmentation(configs):
    """True when every run of the experiment segments, and has the segmentation metrics."""
    runs = [r for rs in configs.values() for r in rs]
    return all(task_of(r) == "segment" and all(k in r.history for k, _ in FINAL_SEGMENT)
               for r in runs)


def load_configs(folder):
    """{config label: [Run, ...]} from the experiment folder, sorted by label and seed."""
    paths = sorted(glob.glob(os.path.join(folder, "seed-*", "checkpoint.h5")) +
                   glob.glob(os.path.join(folder, "*", "seed-*", "checkpoint.h5")))
    if not paths:
        raise SystemExit(f"plot.py: no seed-*/checkpoint.h5 under {folder}")
    configs = {}
    for path in paths:
        seed_dir = os.path.dirname(path)
        parent = os.path.dirname(seed_dir)
        label = "" if os.path.samefile(parent, folder) else os.path.basename(parent)
        try:
            run = dptrain_h5.load_run(path)
        except ValueError as e:
            raise SystemExit(f"plot.py: {e}")
        configs.setdefault(label, []).append(run)
    for runs in configs.values():
        runs.sort(key=lambda r: r.meta["seed"])
    return dict(sorted(configs.items(), key=lambda kv: sort_key(kv[0])))


def sort_key(label):
    """Grid labels sorted by their numeric values where they have them."""
    out = []
    for part in label.split(","):
        value = part.split("=", 1)[-1]
        try:
            out.append((0, float(value), ""))
        except ValueError:
            out.append((1, 0.0, value))
    return out


def name_of(label, experiment):
    return label or experiment


def stack(runs, key, batch=False):
    """Rows per seed, truncated to the shortest run."""
    series = [r.batch[key] if batch else r.history[key] for r in runs]
    n = min(len(s) for s in series)
    return np.array([s[:n] for s in series], dtype=float)


def band(ax, x, rows, color, label, std):
    mean = rows.mean(axis=0)
    ax.plot(x, mean, color=color, label=f"{label} (mean of {len(rows)})")
    if len(rows) > 1:
        ax.fill_between(x, rows.min(axis=0), rows.max(axis=0), color=color, alpha=0.2,
                        linewidth=0)
        if std:
            sd = rows.std(axis=0, ddof=1)
            ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.25, linewidth=0)


def save(fig, axes, title, out, name):
    """Grid and legend on every axis, the title, and the file; returns [name]."""
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(os.path.join(out, name), dpi=DPI)
    plt.close(fig)
    return [name]


def where_it_ran(run):
    return f"{run.meta.get('world_size', 1)} rank(s), {socket.gethostname()}"


def plot_curves(configs, experiment, out, fmt):
    files = []
    for label, runs in configs.items():
        first = runs[0]
        epochs = first.history["epoch"][: stack(runs, "epoch").shape[1]]
        fig, (cost, acc) = plt.subplots(1, 2, figsize=FIGSIZE, dpi=DPI)
        for split, color in (("train", "tab:blue"), ("test", "tab:green")):
            band(cost, epochs, stack(runs, f"{split}_loss"), color, split, False)
            band(acc, epochs, stack(runs, f"{split}_acc"), color, split, False)
        cost.set(xlabel="epoch", ylabel="cost (cross-entropy, nats)", title="cost")
        acc.set(xlabel="epoch", ylabel="accuracy (fraction)", title="accuracy")
        for ax in (cost, acc):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        seconds = float(np.mean([r.history["seconds"].sum() for r in runs]))
        title = (f"{name_of(label, experiment)} | batch size {int(first.config['batch'])} | "
                 f"learning rate {first.config['lr']:g} ({first.config['sched']}) | "
                 f"epochs {len(epochs)} | training time {seconds:.1f} s | {where_it_ran(first)}")
        files += save(fig, (cost, acc), title, out, f"curves-{label or experiment}.{fmt}")
    return files


def counting_axis(ax, log_x):
    """An x axis of epochs or steps: whole-number ticks, or on a log scale 1, 2, 5, 10, 20, 50, ...
    in plain numbers."""
    if log_x:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_spread_segment(configs, experiment, out, fmt, log_x, std):
    """Seed 002's Figure 2: test loss, test mean F1 and test pixel accuracy per epoch."""
    panels = [("test_loss", "loss (cross-entropy per pixel, nats)", "test loss"),
              ("test_f1", "mean F1 over the classes", "test mean F1"),
              ("test_acc", "pixel accuracy (fraction)", "test pixel accuracy")]
    fig, axes = plt.subplots(1, len(panels), figsize=FIGSIZE, dpi=DPI)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, runs) in enumerate(configs.items()):
        color = colors[i % len(colors)]
        for ax, (key, _, _) in zip(axes, panels):
            rows = stack(runs, key)
            band(ax, runs[0].history["epoch"][: rows.shape[1]], rows, color,
                 name_of(label, experiment), std)
    for ax, (_, ylabel, title) in zip(axes, panels):
        ax.set(xlabel="epoch" + (" (log scale)" if log_x else ""), ylabel=ylabel, title=title)
        counting_axis(ax, log_x)
    shade = "min-max band" + (", +-1 std" if std else "")
    return save(fig, axes, f"{experiment}: mean over seeds with {shade}", out, f"spread-epoch.{fmt}")


def plot_spread(configs, experiment, out, fmt, per_batch, log_x, std):
    fig, (left, right) = plt.subplots(1, 2, figsize=FIGSIZE, dpi=DPI)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, runs) in enumerate(configs.items()):
        color = colors[i % len(colors)]
        name = name_of(label, experiment)
        if per_batch:
            acc, loss = stack(runs, "acc", True), stack(runs, "loss", True)
            x = np.arange(1, acc.shape[1] + 1)
        else:
            acc, loss = stack(runs, "val_acc"), stack(runs, "train_loss")
            x = runs[0].history["epoch"][: acc.shape[1]]
        band(left, x, acc, color, name, std)
        band(right, x, loss, color, name, std)
    unit = ("batch (optimizer step)" if per_batch else "epoch") + (" (log scale)" if log_x else "")
    left.set(xlabel=unit, ylabel="accuracy (fraction)",
             title="batch accuracy" if per_batch else "validation accuracy")
    right.set(xlabel=unit, ylabel="loss (cross-entropy, nats)",
              title="batch loss" if per_batch else "training loss")
    for ax in (left, right):
        counting_axis(ax, log_x)
    shade = "min-max band" + (", +-1 std" if std else "")
    return save(fig, (left, right), f"{experiment}: mean over seeds with {shade}", out,
                f"spread-{'batch' if per_batch else 'epoch'}.{fmt}")


def swept_setting(configs):
    """(key, [values]) when every label is one numeric key=value, else None."""
    keys, values = set(), []
    for label in configs:
        if not label or "," in label or "=" not in label:
            return None
        key, value = label.split("=", 1)
        keys.add(key)
        try:
            values.append(float(value))
        except ValueError:
            return None
    return (keys.pop(), values) if len(keys) == 1 else None


def plot_sweep(configs, experiment, out, fmt):
    swept = swept_setting(configs)
    if not swept or len(configs) < 2:
        return []
    key, values = swept
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), dpi=DPI)
    for (label, runs), value in zip(configs.items(), values):
        epochs = runs[0].history["epoch"][: stack(runs, "val_acc").shape[1]]
        axes[0].plot(epochs, stack(runs, "val_acc").mean(axis=0), marker="o", label=f"{key} {value:g}")
        axes[1].plot(epochs, stack(runs, "train_acc").mean(axis=0), marker="o", label=f"{key} {value:g}")
    for metric, marker in (("val_acc", "o"), ("train_acc", "s")):
        finals = [stack(runs, metric)[:, -1] for runs in configs.values()]
        mean = np.array([f.mean() for f in finals])
        low = mean - np.array([f.min() for f in finals])
        high = np.array([f.max() for f in finals]) - mean
        axes[2].errorbar(values, mean, yerr=[low, high], marker=marker, capsize=4,
                         label=metric.replace("_acc", " accuracy").replace("val", "validation"))
    axes[0].set(xlabel="epoch", ylabel="validation accuracy (fraction)", title="validation")
    axes[1].set(xlabel="epoch", ylabel="training accuracy (fraction)", title="training")
    axes[2].set(xlabel=key, ylabel="final accuracy (fraction)", title="after the last epoch")
    if max(values) / max(min(values), 1e-300) > 100:
        axes[2].set_xscale("log")
    for ax in axes[:2]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return save(fig, axes, f"{experiment}: sweep over {key} (means over seeds; bars: min-max)",
                out, f"sweep.{fmt}")


def final_values(runs, key):
    return np.array([r.history[key][-1] for r in runs], dtype=float)


def z_score(a, b):
    """(mean a - mean b) / sqrt(var a + var b), as seed 002 compares configurations."""
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    spread = math.sqrt(a.var(ddof=1) + b.var(ddof=1))
    return (a.mean() - b.mean()) / spread if spread > 0 else float("inf")


def parameters(runs):
    """The configuration's parameter count (the /model parameters attribute), "?" if unknown."""
    counts = sorted({r.model.get("parameters") for r in runs} - {None})
    return " / ".join(f"{c:,}" for c in counts) or "?"


def table_lines(configs, experiment, segment):
    final, (zkey, ztitle) = (FINAL_SEGMENT, ("test_f1", "test mean F1")) if segment else \
        (FINAL, ("test_acc", "test accuracy"))
    runs = [r for rs in configs.values() for r in rs]
    final = [(k, t) for k, t in final if all(k in r.history for r in runs)]
    lines = [f"# {experiment}", "",
             "Final epoch, over seeds: mean ± std (min – max)." +
             (" F1 and IoU: means over the classes; accuracy: of pixels." if segment else ""), "",
             "| configuration | parameters | seeds | epochs | " +
             " | ".join(t for _, t in final) + " |",
             "|---|---|---|---|" + "---|" * len(final)]
    for label, runs in configs.items():
        cells = []
        for key, _ in final:
            v = final_values(runs, key)
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            cells.append(f"{v.mean():.4f} ± {sd:.4f} ({v.min():.4f} – {v.max():.4f})")
        lines.append(f"| {name_of(label, experiment)} | {parameters(runs)} | {len(runs)} | "
                     f"{min(r.epochs for r in runs)} | " + " | ".join(cells) + " |")
    if len(configs) > 1:
        labels = list(configs)
        lines += ["", f"z-score of final {ztitle}, row minus column, "
                  "(mean a − mean b) / √(var a + var b):", "",
                  "| | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for a in labels:
            row = [f"{z_score(final_values(configs[a], zkey), final_values(configs[b], zkey)):+.2f}"
                   if a != b else "" for b in labels]
            lines.append(f"| {a} | " + " | ".join(row) + " |")
    return lines


def write_table(lines, out):
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return ["table.md"]


def experiment_file(folder):
    """(description, command, file text) from what scripts/spread left in the folder, or Nones."""
    def read(name):
        try:
            with open(os.path.join(folder, name)) as f:
                return f.read().strip()
        except OSError:
            return None
    text = read("experiment.ini")
    return ini_value(text, "description"), read("command.txt"), text


def ini_value(text, wanted):
    """The value of an experiment file's key (its last, as inih reads it), or None."""
    found = None
    for line in (text or "").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == wanted:
            found = re.split(r"\s;", value)[0].strip()
    return found


def write_report(configs, experiment, out, table, figures):
    """report.md: what was run and how to rerun it, training times, the table, the figures."""
    description, command, text = experiment_file(out)
    runs = [r for rs in configs.values() for r in rs]
    seconds = np.array([sum(r.history["seconds"]) for r in runs], dtype=float)
    lines = [f"# {experiment}" + (f": {description}" if description else ""), ""]
    if command:
        lines += ["Rerun (from the repository's top folder; finished runs are skipped):", "",
                  f"    {command}", ""]
    lines += [f"{len(runs)} runs ({len(configs)} configuration(s) x seeds); training time per run "
              f"{seconds.mean():.1f} s (min {seconds.min():.1f}, max {seconds.max():.1f}), "
              f"{where_it_ran(runs[0])}.", ""]
    lines += ["## Results", ""] + table[2:] + ["", "## Figures", ""]
    lines += [f"![{os.path.splitext(f)[0]}]({f})" for f in figures if f.endswith(".png")]
    if text:
        lines += ["", "## The experiment file", "", "```ini", text, "```"]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return ["report.md"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("experiment", help="the experiment's folder, e.g. runs/quickstart")
    ap.add_argument("--pdf", action="store_true", help="also write PDF versions")
    ap.add_argument("--log-x", action="store_true", help="logarithmic x axis on spread plots "
                    "(the default for segmentation experiments' per-epoch spread)")
    ap.add_argument("--lin-x", action="store_true",
                    help="linear x axis on a segmentation experiment's per-epoch spread")
    ap.add_argument("--std", action="store_true", help="also shade +-1 std on spread plots")
    a = ap.parse_args()
    folder = a.experiment.rstrip("/")
    if not os.path.isdir(folder):
        raise SystemExit(f"plot.py: {folder}: no such folder")
    asked = ini_value(experiment_file(folder)[2], "plot")  # the experiment's own plot options
    if asked:
        print(f"plot.py: {folder}/experiment.ini asks for {asked}")
        a = ap.parse_args(asked.split() + sys.argv[1:])
    experiment = os.path.basename(os.path.abspath(folder))
    configs = load_configs(folder)
    segment = is_segmentation(configs)
    written = []
    for fmt in ["png"] + (["pdf"] if a.pdf else []):
        written += plot_curves(configs, experiment, folder, fmt)
        if segment:
            written += plot_spread_segment(configs, experiment, folder, fmt,
                                           a.log_x or not a.lin_x, a.std)
        else:
            written += plot_spread(configs, experiment, folder, fmt, False, a.log_x, a.std)
        written += plot_spread(configs, experiment, folder, fmt, True, a.log_x, a.std)
        written += plot_sweep(configs, experiment, folder, fmt)
    table = table_lines(configs, experiment, segment)
    written += write_table(table, folder)
    written += write_report(configs, experiment, folder, table, written)
    runs = sum(len(r) for r in configs.values())
    print(f"plot.py: {len(configs)} configuration(s), {runs} run(s)" +
          (" (segmentation)" if segment else "") + " -> " +
          ", ".join(os.path.join(folder, w) for w in written))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Confusion matrix and misclassified examples from a `dptrain eval` results file.

    scripts/plot_eval.py runs/x/seed-1/eval-test.h5 [--data data/mnist] [--pdf]

Writes beside the results file:
  confusion-<split>.png      the confusion matrix (rows: label, columns: predicted), counts and
                             per-label recall
  misclassified-<split>.png  up to ten misclassified images, one per label where there is one,
                             each titled with its label, the prediction and its index in the file
(seed 003, Exercise 6 (d) and (e)).
"""
import argparse
import gzip
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dptrain_h5  # noqa: E402  (re-runs this script under /usr/bin/python3 if h5py is missing)

dptrain_h5.require("matplotlib")
import h5py  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 100


def read_images(folder, split):
    """The image array of the IDX file a split's indices refer to (raw or .gz)."""
    name = "t10k-images-idx3-ubyte" if split == "test" else "train-images-idx3-ubyte"
    for path, opener in ((os.path.join(folder, name), open),
                         (os.path.join(folder, name + ".gz"), gzip.open)):
        if os.path.exists(path):
            with opener(path, "rb") as f:
                data = f.read()
            count, rows, cols = (int.from_bytes(data[4 * i:4 * i + 4], "big") for i in (1, 2, 3))
            return np.frombuffer(data, np.uint8, count * rows * cols, 16).reshape(count, rows, cols)
    raise SystemExit(f"plot_eval.py: {os.path.join(folder, name)}: no such file (nor .gz)")


def load_eval(path):
    try:
        with h5py.File(path, "r") as f:
            if "eval" not in f:
                raise SystemExit(f"plot_eval.py: {path}: not a dptrain eval file (no /eval)")
            g = f["eval"]
            split = g.attrs["split"]
            split = split.decode() if isinstance(split, bytes) else str(split)
            mis = {k: np.asarray(g["misclassified"][k]) for k in ("index", "label", "predicted")}
            return split, float(g.attrs["accuracy"]), np.asarray(g["confusion"]), mis
    except OSError as e:
        raise SystemExit(f"plot_eval.py: {path}: not a readable HDF5 file ({e})")


def plot_confusion(confusion, split, accuracy, out):
    fig, ax = plt.subplots(figsize=(7, 6), dpi=DPI)
    share = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(10):
        for j in range(10):
            if confusion[i, j]:
                ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted class", ylabel="true class",
           title=f"confusion on {split}: accuracy {accuracy:.4f}")
    fig.colorbar(image, ax=ax, label="fraction of the true class")
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def plot_misclassified(images, mis, split, out):
    """One example per true label where there is one, then more, up to ten."""
    order = [int(np.argmax(mis["label"] == c)) for c in range(10) if (mis["label"] == c).any()]
    order += [i for i in range(len(mis["label"])) if i not in order][: 10 - len(order)]
    fig, axes = plt.subplots(2, 5, figsize=(10, 5.6), dpi=DPI)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, order[:10]):
        ax.imshow(images[mis["index"][i]], cmap="gray")
        ax.set_title(f"label {mis['label'][i]}, predicted {mis['predicted'][i]}\n"
                     f"{split} #{mis['index'][i]}", fontsize=9)
    fig.suptitle(f"misclassified {split} images ({len(mis['label'])} in all)")
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("eval_file", help="a results file written by dptrain eval")
    ap.add_argument("--data", default="data/mnist", help="the dataset folder [data/mnist]")
    ap.add_argument("--pdf", action="store_true", help="also write PDF versions")
    a = ap.parse_args()
    split, accuracy, confusion, mis = load_eval(a.eval_file)
    images = read_images(a.data, split)
    if len(mis["index"]) and mis["index"].max() >= len(images):
        raise SystemExit(f"plot_eval.py: {a.data}: fewer images than the eval file refers to")
    folder = os.path.dirname(os.path.abspath(a.eval_file))
    written = []
    for ext in ["png"] + (["pdf"] if a.pdf else []):
        written.append(os.path.join(folder, f"confusion-{split}.{ext}"))
        plot_confusion(confusion, split, accuracy, written[-1])
        if len(mis["index"]):
            written.append(os.path.join(folder, f"misclassified-{split}.{ext}"))
            plot_misclassified(images, mis, split, written[-1])
    print("plot_eval.py: " + ", ".join(written))


if __name__ == "__main__":
    main()

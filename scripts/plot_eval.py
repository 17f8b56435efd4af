#!/usr/bin/env python3
"""Confusion matrix and misclassified examples (classification) or example masks
(segmentation) from a `dptrain eval` results file.

    scripts/plot_eval.py runs/x/seed-1/eval-test.h5 [--pdf]

Writes beside the results file:
  confusion-<split>.png      the confusion matrix (rows: label, columns: predicted), counts and
                             per-label recall; 700x600 pixels up to 10 classes, larger with more
                             (above 20 classes only every few ticks are labelled, and above 30
                             the counts are left out of the cells); of pixels for segmentation
  misclassified-<split>.png  (classification) up to ten misclassified images, one per label
                             where there is one, each titled with its label, the prediction and
                             its index in the split (1000x560 pixels)
  segmentation-<split>.png   (segmentation) one row per example of /eval/examples: the image,
                             the true mask and the predicted mask, classes in fixed colours
                             (class 0 black, then matplotlib's tab10 cycling, the colours of
                             dptrain predict's overlays) with a legend of the class names
(seed 003, Exercise 6 (d) and (e)). Everything comes from the results file: the images from
/eval/misclassified/images or /eval/examples/images (n x C x H x W; one channel is drawn grey,
three as RGB, four as RGBA, any other count as its first channel in grey), the masks from
/eval/examples/masks and predicted (n x H x W), and the class names from /eval's class_names
attribute (class numbers when a file has none).
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dptrain_h5  # noqa: E402  (re-runs this script under /usr/bin/python3 if h5py is missing)

dptrain_h5.require("matplotlib")
import h5py  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
import numpy as np  # noqa: E402

DPI = 100


def _text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def load_examples(path, g):
    """A segmentation file's examples: index, images (n x C x H x W), masks and predicted
    (n x H x W), all uint8 but index."""
    if "examples" not in g:
        raise SystemExit(f"plot_eval.py: {path}: a segmentation eval file without /eval/examples")
    e = {key: np.asarray(g["examples"][key]) for key in ("index", "images", "masks", "predicted")}
    n = len(e["index"])
    if e["images"].ndim != 4 or len(e["images"]) != n:
        raise SystemExit(f"plot_eval.py: {path}: /eval/examples/images is "
                         f"{'x'.join(map(str, e['images'].shape))}, expected {n} x C x H x W")
    for key in ("masks", "predicted"):
        if e[key].shape != (n,) + e["images"].shape[2:]:
            raise SystemExit(f"plot_eval.py: {path}: /eval/examples/{key} is "
                             f"{'x'.join(map(str, e[key].shape))}, expected {n} x H x W")
    return e


def load_eval(path):
    """split, accuracy, confusion (K x K), class names (K strings), and for classification the
    misclassified samples: index, label, predicted and images (n x C x H x W uint8), for
    segmentation the examples (load_examples, with the key "masks")."""
    try:
        with h5py.File(path, "r") as f:
            if "eval" not in f:
                raise SystemExit(f"plot_eval.py: {path}: not a dptrain eval file (no /eval)")
            g = f["eval"]
            split = _text(g.attrs["split"])
            confusion = np.asarray(g["confusion"])
            if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
                raise SystemExit(f"plot_eval.py: {path}: /eval/confusion is "
                                 f"{'x'.join(map(str, confusion.shape))}, not K x K")
            k = confusion.shape[0]
            names = [str(c) for c in range(k)]
            if "class_names" in g.attrs:
                names = [_text(v) for v in np.atleast_1d(g.attrs["class_names"])]
                if len(names) != k:
                    raise SystemExit(f"plot_eval.py: {path}: {len(names)} class names for a "
                                     f"{k}x{k} confusion matrix")
            if _text(g.attrs.get("task", "classify")) == "segment":
                return split, float(g.attrs["accuracy"]), confusion, names, load_examples(path, g)
            m = g["misclassified"]
            mis = {key: np.asarray(m[key]) for key in ("index", "label", "predicted")}
            if "images" not in m:
                raise SystemExit(f"plot_eval.py: {path}: no /eval/misclassified/images "
                                 "(written by an older dptrain eval: run eval again)")
            images = np.asarray(m["images"])
            if images.ndim != 4 or len(images) != len(mis["index"]):
                raise SystemExit(f"plot_eval.py: {path}: /eval/misclassified/images is "
                                 f"{'x'.join(map(str, images.shape))}, expected "
                                 f"{len(mis['index'])} x C x H x W")
            mis["images"] = images
            return split, float(g.attrs["accuracy"]), confusion, names, mis
    except OSError as e:
        raise SystemExit(f"plot_eval.py: {path}: not a readable HDF5 file ({e})")


def plot_confusion(confusion, names, split, accuracy, out):
    k = len(names)
    # 7x6 inches up to 10 classes (as before), then about a quarter inch per class, up to 24.
    side = min(24.0, max(6.0, 6.0 + 0.25 * (k - 10)))
    fig, ax = plt.subplots(figsize=(side + 1, side), dpi=DPI)
    share = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    if k <= 30:
        size = 8 if k <= 12 else 6
        for i in range(k):
            for j in range(k):
                if confusion[i, j]:
                    ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=size,
                            color="white" if share[i, j] > 0.5 else "black")
    step = 1 if k <= 20 else math.ceil(k / 20)
    ticks = list(range(0, k, step))
    labels = [names[t] for t in ticks]
    numeric = all(n == str(i) for i, n in enumerate(names))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xticklabels(labels, rotation=0 if numeric else 90, fontsize=8 if k <= 20 else 7)
    ax.set_yticklabels(labels, fontsize=8 if k <= 20 else 7)
    ax.set(xlabel="predicted class", ylabel="true class",
           title=f"confusion on {split}: accuracy {accuracy:.4f}")
    fig.colorbar(image, ax=ax, label="fraction of the true class")
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def show(ax, image):
    """One C x H x W uint8 image: grey, RGB, RGBA, or the first channel in grey."""
    c = image.shape[0]
    if c in (3, 4):
        ax.imshow(np.transpose(image, (1, 2, 0)))
    else:
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=255)


def plot_misclassified(mis, names, split, out):
    """One example per true label where there is one, then more, up to ten."""
    labels = mis["label"]
    order = [int(np.argmax(labels == c)) for c in range(len(names)) if (labels == c).any()][:10]
    order += [i for i in range(len(labels)) if i not in order][: 10 - len(order)]
    fig, axes = plt.subplots(2, 5, figsize=(10, 5.6), dpi=DPI)
    for ax in axes.flat:
        ax.axis("off")
    longest = max(len(names[labels[i]]) + len(names[mis["predicted"][i]]) for i in order)
    for ax, i in zip(axes.flat, order):
        show(ax, mis["images"][i])
        label, predicted = names[labels[i]], names[mis["predicted"][i]]
        sep = ", " if longest <= 14 else "\n"
        ax.set_title(f"label {label}{sep}predicted {predicted}\n{split} #{mis['index'][i]}",
                     fontsize=9 if longest <= 14 else 7)
    fig.suptitle(f"misclassified {split} images ({len(labels)} in all)")
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def class_colours(k):
    """Class 0 black, then tab10 cycling: the colours of dptrain predict's overlays."""
    tab10 = plt.get_cmap("tab10").colors
    return [(0.0, 0.0, 0.0)] + [tab10[(c - 1) % 10] for c in range(1, k)]


def plot_segmentation(examples, names, split, accuracy, out):
    """Rows: examples; columns: image, true mask, predicted mask; a legend of the classes."""
    k = len(names)
    cmap = ListedColormap(class_colours(k))
    n = len(examples["index"])
    fig, axes = plt.subplots(n, 3, figsize=(7.5, 2.2 * n + 0.6), dpi=DPI, squeeze=False)
    for row, ax in enumerate(axes):
        show(ax[0], examples["images"][row])
        ax[1].imshow(examples["masks"][row], cmap=cmap, vmin=-0.5, vmax=k - 0.5,
                     interpolation="nearest")
        ax[2].imshow(examples["predicted"][row], cmap=cmap, vmin=-0.5, vmax=k - 0.5,
                     interpolation="nearest")
        ax[0].set_ylabel(f"{split} #{examples['index'][row]}", fontsize=9)
        for a in ax:
            a.set_xticks([])
            a.set_yticks([])
            for spine in a.spines.values():  # visible between black panels
                spine.set_edgecolor("0.6")
    for a, title in zip(axes[0], ("image", "true mask", "predicted mask")):
        a.set_title(title, fontsize=10)
    handles = [Patch(facecolor=cmap(c), edgecolor="grey", label=names[c])
               for c in range(k)]
    fig.legend(handles=handles, loc="center right", fontsize=8, title="class")
    fig.suptitle(f"segmentation of {split}: pixel accuracy {accuracy:.4f}")
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def check_classes(path, samples, group, keys, k):
    for key in keys:
        if samples[key].size and (samples[key].min() < 0 or samples[key].max() >= k):
            raise SystemExit(f"plot_eval.py: {path}: /eval/{group}/{key} holds classes outside "
                             f"0..{k - 1}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("eval_file", help="a results file written by dptrain eval")
    ap.add_argument("--pdf", action="store_true", help="also write PDF versions")
    a = ap.parse_args()
    split, accuracy, confusion, names, samples = load_eval(a.eval_file)
    segment = "masks" in samples
    if segment:
        check_classes(a.eval_file, samples, "examples", ("masks", "predicted"), len(names))
    else:
        check_classes(a.eval_file, samples, "misclassified", ("label", "predicted"), len(names))
    folder = os.path.dirname(os.path.abspath(a.eval_file))
    written = []
    for ext in ["png"] + (["pdf"] if a.pdf else []):
        written.append(os.path.join(folder, f"confusion-{split}.{ext}"))
        plot_confusion(confusion, names, split, accuracy, written[-1])
        if segment and len(samples["index"]):
            written.append(os.path.join(folder, f"segmentation-{split}.{ext}"))
            plot_segmentation(samples, names, split, accuracy, written[-1])
        elif not segment and len(samples["index"]):
            written.append(os.path.join(folder, f"misclassified-{split}.{ext}"))
            plot_misclassified(samples, names, split, written[-1])
    print("plot_eval.py: " + ", ".join(written))


if __name__ == "__main__":
    main()

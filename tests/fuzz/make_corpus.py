#!/usr/bin/env python3
"""Writes the text and image seed corpora of the fuzz harnesses (stdlib only; the same bytes
every time): corpus/idx (tiny IDX files, raw and .gz, and a few defective ones), corpus/png
(tiny PNGs of every colour type and bit depth, palettes, tRNS, Adam7 interlacing), corpus/model
(every preset's name and canonical spec, the hostile specs of tests/test_spec_fuzz.c) and
corpus/experiment (scripts/experiments/*.ini and the hostile files of tests/e2e/cli_errors.sh and
experiments_quick.sh), corpus/ckpt_fields and corpus/dataset_h5_fields (edit lists: valid
files of each kind, and a few variants). make_corpus.sh runs it, then writes the HDF5 corpora.

    make_corpus.py REPO DPTRAIN      DPTRAIN: a built dptrain (for the canonical specs)
"""
import gzip
import os
import re
import struct
import subprocess
import sys
import zlib

REPO, DPTRAIN = sys.argv[1], sys.argv[2]
OUT = os.path.join(REPO, "tests", "fuzz", "corpus")
sys.path.insert(0, os.path.join(REPO, "scripts"))
from pngwrite import SIGNATURE, chunk  # noqa: E402


def put(harness, name, data):
    os.makedirs(os.path.join(OUT, harness), exist_ok=True)
    with open(os.path.join(OUT, harness, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- IDX ----

def idx(dims, data=None):
    size = 1
    for d in dims:
        size *= d
    if data is None:
        data = bytes((i * 37 + 11) & 0xFF for i in range(size))
    return struct.pack(">BBBB", 0, 0, 8, len(dims)) + struct.pack(f">{len(dims)}I", *dims) + data


def idx_corpus():
    files = {
        "images-3x4x5": idx([3, 4, 5]),
        "images-1x1x1": idx([1, 1, 1]),
        "images-2x28x28": idx([2, 28, 28]),
        "labels-7": idx([7], bytes(range(7))),
        "labels-1": idx([1], b"\x09"),
        "matrix-2x3": idx([2, 3]),
        "rgb-2x3x4x4": idx([2, 3, 4, 4]),
        "truncated-images": idx([4, 4, 5])[:-7],
        "extra-byte-labels": idx([3], b"\x01\x02\x03") + b"\x00",
        "type-int32": b"\x00\x00\x0c\x01\x00\x00\x00\x01\x00\x00\x00\x05",
        "huge-count": struct.pack(">BBBBIII", 0, 0, 8, 3, 0xFFFFFFFF, 28, 28) + b"\x00" * 16,
        "zero-dim": struct.pack(">BBBBIII", 0, 0, 8, 3, 2, 0, 28),
    }
    for name, data in files.items():
        put("idx", name, data)
        put("idx", name + ".gz", gzip.compress(data, compresslevel=9, mtime=0))
    # A gzip stream cut short, and two gzip members (zlib reads both).
    put("idx", "cut-short.gz", gzip.compress(idx([2, 4, 4]), mtime=0)[:-9])
    two = idx([2, 2, 2])
    put("idx", "two-members.gz",
        gzip.compress(two[:10], mtime=0) + gzip.compress(two[10:], mtime=0))


# ---- PNG ----

COLOR = {"gray": 0, "rgb": 2, "palette": 3, "gray-alpha": 4, "rgba": 6}
SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def pack_row(values, depth):
    """One row of samples at this bit depth, packed big-endian (PNG's order)."""
    if depth == 16:
        return b"".join(struct.pack(">H", v) for v in values)
    if depth == 8:
        return bytes(values)
    out, acc, bits = bytearray(), 0, 0
    for v in values:
        acc, bits = (acc << depth) | v, bits + depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def png(width, height, color, depth, interlace=False, palette=0, trns=None):
    """A PNG whose sample (x, y, s) is a fixed pattern within the bit depth."""
    ct = COLOR[color]
    spp = SAMPLES[ct]
    top = (1 << depth) - 1 if ct != 3 else palette - 1

    def sample(x, y, s):
        return ((x * 7 + y * 13 + s * 29) * 2654435761 >> 7) % (top + 1)

    def rows(xs, ys):
        return b"".join(b"\x00" + pack_row([sample(x, y, s) for x in xs for s in range(spp)], depth)
                        for y in ys)

    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            xs, ys = range(x0, width, dx), range(y0, height, dy)
            if len(xs) and len(ys):
                raw += rows(xs, ys)
    else:
        raw = rows(range(width), range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, ct, 0, 0, 1 if interlace else 0)
    out = SIGNATURE + chunk(b"IHDR", ihdr)
    if palette:
        out += chunk(b"PLTE", bytes((i * 53 + c * 91) & 0xFF for i in range(palette)
                                    for c in range(3)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def png_corpus():
    cases = {
        "gray8-5x3": png(5, 3, "gray", 8),
        "gray8-28x28": png(28, 28, "gray", 8),
        "gray1-9x4": png(9, 4, "gray", 1),
        "gray2-7x3": png(7, 3, "gray", 2),
        "gray4-5x5": png(5, 5, "gray", 4),
        "gray16-4x3": png(4, 3, "gray", 16),
        "gray8-trns-4x4": png(4, 4, "gray", 8, trns=b"\x00\x10"),
        "gray-alpha8-4x3": png(4, 3, "gray-alpha", 8),
        "gray-alpha16-3x3": png(3, 3, "gray-alpha", 16),
        "rgb8-4x3": png(4, 3, "rgb", 8),
        "rgb16-3x2": png(3, 2, "rgb", 16),
        "rgb8-trns-3x3": png(3, 3, "rgb", 8, trns=b"\x00\x01\x00\x02\x00\x03"),
        "rgba8-4x4": png(4, 4, "rgba", 8),
        "rgba16-2x2": png(2, 2, "rgba", 16),
        "palette8-6x4": png(6, 4, "palette", 8, palette=200),
        "palette4-5x3": png(5, 3, "palette", 4, palette=16),
        "palette2-7x2": png(7, 2, "palette", 2, palette=3),
        "palette1-9x3-trns": png(9, 3, "palette", 1, palette=2, trns=b"\x00"),
        "gray8-1x1": png(1, 1, "gray", 8),
        "interlaced-gray8-9x9": png(9, 9, "gray", 8, interlace=True),
        "interlaced-gray1-10x3": png(10, 3, "gray", 1, interlace=True),
        "interlaced-rgb8-5x7": png(5, 7, "rgb", 8, interlace=True),
        "interlaced-rgba16-3x3": png(3, 3, "rgba", 16, interlace=True),
        "interlaced-palette4-11x2": png(11, 2, "palette", 4, palette=12, interlace=True),
        "interlaced-1x1": png(1, 1, "gray", 8, interlace=True),
    }
    for name, data in cases.items():
        put("png", name + ".png", data)
    good = cases["gray8-5x3"]
    put("png", "truncated.png", good[:-20])
    put("png", "huge-header.png",
        SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 1 << 20, 1 << 20, 8, 2, 0, 0, 0))
        + chunk(b"IEND", b""))
    put("png", "bad-crc.png", good[:30] + bytes([good[30] ^ 0xFF]) + good[31:])


# ---- model specs ----

def unescape_c(text):
    return text.encode("latin1").decode("unicode_escape").encode("latin1")


def model_corpus():
    presets = subprocess.run([DPTRAIN, "info", "--help"], capture_output=True, text=True,
                             check=True).stdout.split("Presets:\n", 1)[1]
    for name in re.findall(r"^  (\S+)", presets, re.M):
        put("model", "preset-" + name, name)
        task = ["--task", "segment"] if name.startswith("unet") else []
        info = subprocess.run([DPTRAIN, "info", "--model", name, "--classes", "10"] + task,
                              capture_output=True, text=True, check=True).stdout
        spec = re.search(r"^model (.*)$", info, re.M).group(1)
        put("model", "canonical-" + name, spec)
    source = open(os.path.join(REPO, "tests", "test_spec_fuzz.c"), encoding="latin1").read()
    literal = r'"((?:[^"\\\n]|\\.)*)"'
    for i, m in enumerate(re.finditer(r"(?:expect_error|check_spec|dpt_model_build)\(\s*"
                                      + literal, source)):
        put("model", f"test-spec-fuzz-{i:02d}", unescape_c(m.group(1)))
    for i, spec in enumerate([
            "flatten linear(10)", "conv(4,3,pad=1) batchnorm relu dropout2d(0.25) maxpool(2) "
            "linear(classes)", "res[ conv(1,3,pad=1) ] globalavgpool linear(10)",
            "@a conv(4,3,pad=1) concat(@a) avgpool(2) upsample(2,mode=bilinear) leakyrelu elu "
            "conv(classes,1)", "conv(8,3,stride=2) convtranspose(4,3,stride=2,outpad=1) "
            "sigmoid tanh dropout(p=0.1) linear(classes)"]):
        put("model", f"mixed-{i}", spec)


# ---- experiment files ----

def experiment_corpus():
    folder = os.path.join(REPO, "scripts", "experiments")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".ini"):
            put("experiment", name, open(os.path.join(folder, name), "rb").read())
    hostile = {
        "typo": "[experiment]\nname = x\nseeds = 1-2\n[train]\nmodle = cnn2710\n",
        "seed": "[experiment]\nname = x\nseeds = 1\n[grid]\nseed = 1, 2\n",
        "noseeds": "[experiment]\nname = x\n",
        "grid": "[experiment]\nname = x\nseeds = 1-2\n[grid]\nlr = 0.1, 0.2\nwd = 0, 0.01\n",
        "lr": "[experiment]\nname = x\nseeds = 1\n[train]\nlr = banana\n",
        "gridlr": "[experiment]\nname = x\nseeds = 1\n[grid]\nlr = 0.1, x\n",
        "quick": "[experiment]\nname = x\nseeds = 1\n[quick]\nepochs = -3\n",
        "ranks": "[experiment]\nname = x\nseeds = 1\nranks = 2abc\n",
        "name": "[experiment]\nname = ..\nseeds = 1\n",
        "twice": "[experiment]\nname = x\nseeds = 1,2,1\n",
        "huge": "[experiment]\nname = x\nseeds = 1-1024\n[grid]\n" + "".join(
            f"{k} = {','.join(str(v) for v in range(1, 25))}\n"
            for k in ["lr", "wd", "batch", "epochs", "val", "split-seed"]),
        "long-seeds": "[experiment]\nname = x\nseeds = 18446744073709550592-18446744073709551615\n",
        "q": "[experiment]\nname = q\nseeds = 1-5\n[train]\ndata = data/mnist\nepochs = 9\n"
             "[grid]\nlr = 0.1, 0.01, 0.001\n[quick]\nseeds = 7\nlr = 0.5\nepochs = 1\n"
             "batch = 10\n",
        "none": "[experiment]\nname = n\nseeds = 1\n",
        "bad": "[experiment]\nname = n\nseeds = 1\n[quick]\nbogus = 1\n",
        "seeds": "[experiment]\nname = n\nseeds = 1\n[quick]\nseeds = 0-x\n",
        "plot": "[experiment]\nname = n\nseeds = 1\nplot = --log-x --bogus\n",
        "m": "[experiment]\nname = m\nseeds = 1\n[models]\nwide = conv(32,3,pad=1) relu "
             "maxpool(2)\n    linear(classes)\n[grid]\nmodel = wide, mlp300\n",
        "mname": "[experiment]\nname = n\nseeds = 1\n[models]\na/b = mlp300\n",
        "flags": "[experiment]\nname = f\nseeds = 1\n[train]\nnesterov = true\nopt = sgd\n"
                 "momentum = 0.9\nsched = step:2:0.5\nclass-weights = balanced\nnorm = compute\n"
                 "init = kaiming-normal\n[quick]\nnesterov = false\n",
    }
    for name, text in hostile.items():
        put("experiment", "hostile-" + name + ".ini", text)


# ---- edit lists of the structure-aware HDF5 harnesses (fuzz_*_fields.c say what they mean) ----

def fields_corpus():
    ckpt = {
        "model0-conv-batchnorm": b"\x00", "model1-linear": b"\x01", "model2-residual": b"\x02",
        "model3-segmentation": b"\x03",
        "fixed-length-class-names": b"\x00\x04\x04\x00\x00\x01a",
        "val-and-seed-as-int8": b"\x01\x02\x05\x01\x02\x06\x01",
        "numbers-as-text": b"\x02\x02\x01\x0a\x02\x04\x0a",
        "tensor-as-float64": b"\x00\x08\x00\x02",
        "tensor-nan": b"\x01\x09\x00\x03\x7f\xc0\x00\x00",
        "no-standardization": b"\x00\x07\x09\x07\x0a",
    }
    for name, data in ckpt.items():
        put("ckpt_fields", name, data)
    dataset = {
        "labelled": b"",
        "segmentation": b"\x05\x00",
        "rank4-images": b"\x00\x00\x04\x06\x01\x04\x04\x00\x01\x04\x02\x01\x04\x04",
        "fixed-length-names": b"\x06\x01\x03\x00\x01a",
        "unwritten-images": b"\x03\x00",
        "chunked-deflated": b"\x02\x00\x02\x02\x02\x02\x02\x01\x03",
        "no-classes": b"\x06\x00\x00\x00\x00",
    }
    for name, data in dataset.items():
        put("dataset_h5_fields", name, data)


idx_corpus()
png_corpus()
model_corpus()
experiment_corpus()
fields_corpus()

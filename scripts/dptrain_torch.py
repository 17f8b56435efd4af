#!/usr/bin/env python3
"""A PyTorch user's way in: rebuilds a dptrain checkpoint's network as a torch.nn.Module.

    import dptrain_torch
    model = dptrain_torch.load("runs/x/seed-1/best.h5")   # in eval mode
    logits = model(images)                                 # images: (N, C, H, W) float32
    model.state_dict().keys()                              # conv1.weight, bn1.running_mean, ...

Run as a script it prints the module and its parameter count; with --eval-mnist DIR it also
evaluates the module on DIR's MNIST-format test files (t10k-images-idx3-ubyte[.gz] and the
labels; IDX files only), standardized per channel with the checkpoint's /meta mean and std (one
value per input channel; MNIST's 0.1307 and 0.3081 when the file has no /meta), and prints the
test accuracy, which should be dptrain's:

    scripts/dptrain_torch.py CHECKPOINT [--eval-mnist DIR]

The network comes from the /model group alone (its canonical spec attribute and the
/model/<node>/<tensor> datasets), so any dptrain checkpoint or a file written by
dpt_ckpt_save_model() loads. Submodules are named as dptrain names its nodes (conv1, bn1,
linear2, add1, ...), so state_dict keys are "conv1.weight", "bn1.running_mean" and so on.

Mapping of the spec's kinds:
    conv(out,k,stride,pad,bias)  nn.Conv2d(in, out, k, stride, pad, bias=bool(bias))
    convtranspose(out,k,stride,pad,outpad,bias)
                                 nn.ConvTranspose2d(in, out, k, stride, pad, outpad,
                                 bias=bool(bias)); weight (in, out, k, k)
    upsample(scale,mode)         nn.Upsample(scale_factor=scale, mode=mode), mode nearest or
                                 bilinear (align_corners=False)
    linear(out)                  nn.Linear(C*H*W, out), its input flattened first (dptrain's
                                 linear flattens implicitly); its output is kept as (N, out)
    flatten                      nn.Flatten(): (N, C*H*W)
    maxpool(k,stride)            nn.MaxPool2d(k, stride)      avgpool: nn.AvgPool2d(k, stride)
    globalavgpool                nn.AdaptiveAvgPool2d(1): (N, C, 1, 1)
    batchnorm(affine,momentum,eps)
                                 nn.BatchNorm1d on the (N, C) output of linear or flatten (through
                                 element-wise layers), nn.BatchNorm2d on every 4-D tensor,
                                 including a C x 1 x 1 map (e.g. after globalavgpool); dptrain has
                                 one kind for both and the two are numerically identical there
    dropout(p), dropout2d(p)     nn.Dropout(p), nn.Dropout2d(p) (a 2-D input is viewed as
                                 (N, C, 1, 1) for Dropout2d, which is what dptrain does)
    relu, leakyrelu(slope), elu(alpha), sigmoid, tanh
                                 nn.ReLU, nn.LeakyReLU(slope), nn.ELU(alpha), nn.Sigmoid, nn.Tanh
    res[ BODY | SHORTCUT ], add(@name)
                                 Add: the current tensor plus the other (the block's input, its
                                 shortcut's output, or the saved tensor)
    concat(@name)                Concat: torch.cat([saved, current], 1)
A (N, C) tensor meeting a 4-D one in add or concat, or entering a convolution or a pooling, is
viewed as (N, C, 1, 1), dptrain's C x 1 x 1. A classifier's output is (N, classes); a
segmentation model's (/model task "segment", whose last node gives one channel per class at the
input's height and width) is (N, classes, H, W), the logits F.cross_entropy takes with (N, H, W)
targets.

Debian's python3-torch and python3-h5py belong to /usr/bin/python3; under another interpreter
this module re-runs the calling script with /usr/bin/python3, or says which module is missing.
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dptrain_h5 import require  # noqa: E402  (also requires h5py and numpy)

require("h5py", "numpy", "torch")
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

# The kinds' arguments in dptrain's order (src/layers/*.c): (name, required, default). A stride
# of 0 for the pools means "the kernel", as in PyTorch.
KINDS = {
    "linear": [("out", True, 0)],
    "conv": [("out", True, 0), ("kernel", True, 0), ("stride", False, 1), ("pad", False, 0),
             ("bias", False, 1)],
    "maxpool": [("kernel", True, 0), ("stride", False, 0)],
    "avgpool": [("kernel", True, 0), ("stride", False, 0)],
    "globalavgpool": [],
    "batchnorm": [("affine", False, 1), ("momentum", False, 0.1), ("eps", False, 1e-5)],
    "dropout": [("p", False, 0.5)],
    "dropout2d": [("p", False, 0.5)],
    "relu": [],
    "leakyrelu": [("slope", False, 0.01)],
    "elu": [("alpha", False, 1.0)],
    "sigmoid": [],
    "tanh": [],
    "flatten": [],
    "add": [("from", False, None)],
    "concat": [("from", True, None)],
    "convtranspose": [("out", True, 0), ("kernel", True, 0), ("stride", False, 1),
                      ("pad", False, 0), ("outpad", False, 0), ("bias", False, 1)],
    "upsample": [("scale", True, 0), ("mode", False, 0)],
}
# Arguments given as a word, held as its index (as dptrain does; its canonical spec prints the
# word).
WORDS = {("upsample", "mode"): ("nearest", "bilinear")}
PREFIX = {"batchnorm": "bn"}  # node names: prefix (default: the kind) and ordinal
ELEMENTWISE = {"batchnorm", "dropout", "dropout2d", "relu", "leakyrelu", "elu", "sigmoid", "tanh"}
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


class SpecError(ValueError):
    pass


class Node:
    """One node of the graph: kind, arguments, inputs (node indices; -1 is the model's input),
    dptrain's output shape (c, h, w) and whether the torch tensor is kept as (N, C)."""

    def __init__(self, kind, args, inputs):
        self.kind, self.args, self.inputs = kind, args, inputs
        self.name, self.shape, self.flat = None, None, False


class _Parser:
    """A port of src/model.c's parser: the same nodes, in the same order, with the same names."""

    def __init__(self, text, input_shape):
        self.s, self.i = text, 0
        self.input_shape = tuple(input_shape)
        self.nodes, self.saved = [], {}

    def fail(self, msg):
        raise SpecError(f"model spec, layer {len(self.nodes) + 1}: {msg}")

    def shape(self, node):
        return self.input_shape if node < 0 else self.nodes[node].shape

    def flat(self, node):
        return False if node < 0 else self.nodes[node].flat

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def sequence(self, current, depth):
        while True:
            while self.peek().isspace():
                self.i += 1
            c = self.peek()
            if c == "" or (c in "|]" and depth > 0):
                return current
            if c in "|]":
                self.fail(f"'{c}' outside a res[ ] block")
            if c == "@":
                name = self.name_at(self.i + 1)
                if not name:
                    self.fail(f"expected a name after '@' at '{self.s[self.i:self.i + 20]}'")
                if name in self.saved:
                    self.fail(f"@{name} is saved twice")
                self.saved[name] = current
                self.i += 1 + len(name)
            elif self.s.startswith("res[", self.i):
                self.i += 4
                current = self.residual(current, depth)
            else:
                current = self.layer(current)

    def name_at(self, j):
        k = j
        while k < len(self.s) and self.s[k] in NAME_CHARS:
            k += 1
        return self.s[j:k] if k - j < 24 else ""

    def residual(self, block_input, depth):
        first = len(self.nodes) + 1
        body = self.sequence(block_input, depth + 1)
        if body == block_input:
            self.fail("a res[ ] block needs at least one layer")
        shortcut = block_input
        if self.peek() == "|":
            self.i += 1
            shortcut = self.sequence(block_input, depth + 1)
        if self.peek() != "]":
            raise SpecError(f"model spec, layer {first}: the res[ block opened there never closes")
        self.i += 1
        return self.add_node(Node("add", {"from": None}, [body, shortcut]))

    def layer(self, current):
        j = self.i
        while j < len(self.s) and (self.s[j].isalnum() or self.s[j] == "_"):
            j += 1
        kind = self.s[self.i:j]
        if not kind:
            self.fail(f"expected a layer name at '{self.s[self.i:self.i + 20]}'")
        if kind not in KINDS:
            self.fail(f"unknown layer '{kind}' (known: {' '.join(KINDS)})")
        self.i = j
        spec = KINDS[kind]
        args, given, positional = {n: d for n, _, d in spec}, set(), 0
        inputs = [current]
        if self.peek() == "(":
            self.i += 1
            while self.peek() != ")":
                while self.peek() == " ":
                    self.i += 1
                eq = self.i
                while eq < len(self.s) and (self.s[eq].isalpha() or self.s[eq] == "_"):
                    eq += 1
                if eq < len(self.s) and self.s[eq] == "=" and eq > self.i:
                    key = self.s[self.i:eq]
                    if key not in args:
                        self.fail(f"({kind}): unknown argument '{key}'")
                    self.i = eq + 1
                else:
                    if positional >= len(spec):
                        self.fail(f"({kind}): too many arguments")
                    key = spec[positional][0]
                    positional += 1
                if key in given:
                    self.fail(f"({kind}): {key} given twice")
                given.add(key)
                if key == "from":
                    name = self.name_at(self.i + 1) if self.peek() == "@" else ""
                    if not name:
                        self.fail(f"({kind}): expected a saved tensor's @name at "
                                  f"'{self.s[self.i:self.i + 20]}'")
                    if name not in self.saved:
                        self.fail(f"({kind}): no tensor was saved as @{name} before it")
                    args["from"] = name
                    inputs.append(self.saved[name])
                    self.i += 1 + len(name)
                else:
                    k = self.i
                    while k < len(self.s) and self.s[k] not in ",) ":
                        k += 1
                    words = WORDS.get((kind, key))
                    if words is not None:
                        if self.s[self.i:k] not in words:
                            self.fail(f"({kind}): unknown {key} '{self.s[self.i:k]}' "
                                      f"(one of: {' '.join(words)})")
                        args[key] = float(words.index(self.s[self.i:k]))
                    else:
                        try:
                            args[key] = float(self.s[self.i:k])
                        except ValueError:
                            self.fail(f"({kind}): expected a number at "
                                      f"'{self.s[self.i:self.i + 20]}'")
                    self.i = k
                while self.peek() == " ":
                    self.i += 1
                if self.peek() == ",":
                    self.i += 1
                elif self.peek() != ")":
                    self.fail(f"({kind}): expected ',' or ')' at '{self.s[self.i:self.i + 20]}'")
            self.i += 1
        for n, required, _ in spec:
            if required and n not in given:
                self.fail(f"({kind}): missing argument '{n}'")
        if kind in ("add", "concat") and len(inputs) < 2:
            self.fail(f"({kind}): needs a saved tensor: {kind}(@name)")
        if self.peek() and not self.peek().isspace() and self.peek() not in "]|":
            self.fail(f"unexpected '{self.s[self.i:self.i + 20]}'")
        return self.add_node(Node(kind, args, inputs))

    def add_node(self, node):
        """Sets the node's shape up (as the kind's setup() does), names it and counts it in."""
        a = node.args
        ins = [self.shape(j) for j in node.inputs]
        c, h, w = ins[0]
        k = node.kind

        def whole(key, lo):
            v = a[key]
            if v != int(v) or v < lo:
                self.fail(f"({k}): {key}={v:g} must be a whole number from {lo}")
            return int(v)

        if k == "linear":
            node.shape, node.flat = (whole("out", 1), 1, 1), True
        elif k == "flatten":
            node.shape, node.flat = (c * h * w, 1, 1), True
        elif k == "conv":
            out, kern, st, pad = whole("out", 1), whole("kernel", 1), whole("stride", 1), \
                whole("pad", 0)
            whole("bias", 0)
            if h + 2 * pad < kern or w + 2 * pad < kern:
                self.fail(f"(conv on {c}x{h}x{w}): kernel {kern} does not fit with pad {pad}")
            node.shape = (out, (h + 2 * pad - kern) // st + 1, (w + 2 * pad - kern) // st + 1)
        elif k == "convtranspose":
            out, kern, st, pad, opad = whole("out", 1), whole("kernel", 1), whole("stride", 1), \
                whole("pad", 0), whole("outpad", 0)
            whole("bias", 0)
            if opad >= st:
                self.fail(f"(convtranspose): outpad={opad} must be smaller than stride={st}")
            node.shape = (out, (h - 1) * st - 2 * pad + kern + opad,
                          (w - 1) * st - 2 * pad + kern + opad)
            if node.shape[1] < 1 or node.shape[2] < 1:
                self.fail(f"(convtranspose on {c}x{h}x{w}): pad {pad} leaves nothing")
        elif k == "upsample":
            s = whole("scale", 1)
            node.shape = (c, h * s, w * s)
        elif k in ("maxpool", "avgpool"):
            kern = whole("kernel", 1)
            if a["stride"] == 0:
                a["stride"] = kern
            st = whole("stride", 1)
            if h < kern or w < kern:
                self.fail(f"({k} on {c}x{h}x{w}): kernel {kern} is larger than its input")
            node.shape = (c, (h - kern) // st + 1, (w - kern) // st + 1)
        elif k == "globalavgpool":
            node.shape = (c, 1, 1)
        elif k in ("add", "concat"):
            other = ins[1]
            if k == "add" and ins[0] != other:
                self.fail(f"(add of {'x'.join(map(str, ins[0]))} and "
                          f"{'x'.join(map(str, other))}): the shapes differ")
            if k == "concat" and ins[0][1:] != other[1:]:
                self.fail("(concat): the heights and widths differ")
            node.shape = ins[0] if k == "add" else (c + other[0], h, w)
            node.flat = all(self.flat(j) for j in node.inputs)
        else:  # the element-wise kinds
            node.shape, node.flat = ins[0], self.flat(node.inputs[0])
        prefix = PREFIX.get(k, k)
        node.name = f"{prefix}{1 + sum(n.kind == k for n in self.nodes)}"
        self.nodes.append(node)
        return len(self.nodes) - 1


def parse(spec, input_shape=(1, 28, 28)):
    """The nodes of a spec text (not a preset name), as dptrain builds them."""
    p = _Parser(spec, input_shape)
    p.sequence(-1, 0)
    if not p.nodes:
        raise SpecError(f"model spec '{spec}' has no layers")
    return p.nodes


class Add(nn.Module):
    """current + other (a res[ ] block's sum, or add(@name))."""

    def forward(self, current, other):
        return current + other


class Concat(nn.Module):
    """torch.cat([saved, current], 1): the saved tensor's channels first."""

    def forward(self, current, saved):
        return torch.cat([saved, current], 1)


def _as4d(x):
    return x[:, :, None, None] if x.dim() == 2 else x


class DptrainNet(nn.Module):
    """dptrain's graph: the nodes run in order, each reading earlier outputs by index."""

    def __init__(self, spec, input_shape=(1, 28, 28), task="classify"):
        super().__init__()
        if task not in ("classify", "segment"):
            raise SpecError(f"unknown task '{task}' (classify or segment)")
        self.spec, self.input_shape, self.task = spec, tuple(input_shape), task
        self.nodes = parse(spec, input_shape)
        last = self.nodes[-1]
        if task == "segment":
            if last.flat or tuple(last.shape[1:]) != self.input_shape[1:]:
                raise SpecError(f"a segmentation model must end at the input's height and width "
                                f"({'x'.join(map(str, self.input_shape[1:]))}); its last layer "
                                f"gives {'x'.join(map(str, last.shape))}")
            self.classes = int(last.shape[0])
        else:
            self.classes = int(np.prod(last.shape))
        self.last_reader = {}
        for i, node in enumerate(self.nodes):
            for j in node.inputs:
                self.last_reader[j] = i
            self.add_module(node.name, self._module(node))

    def _module(self, node):
        k, a = node.kind, node.args
        c, h, w = self._in_shape(node)
        if k == "linear":
            return nn.Linear(c * h * w, int(a["out"]))
        if k == "conv":
            return nn.Conv2d(c, int(a["out"]), int(a["kernel"]), stride=int(a["stride"]),
                             padding=int(a["pad"]), bias=bool(a["bias"]))
        if k == "convtranspose":
            return nn.ConvTranspose2d(c, int(a["out"]), int(a["kernel"]), stride=int(a["stride"]),
                                      padding=int(a["pad"]), output_padding=int(a["outpad"]),
                                      bias=bool(a["bias"]))
        if k == "upsample":
            mode = WORDS[("upsample", "mode")][int(a["mode"])]
            return nn.Upsample(scale_factor=int(a["scale"]), mode=mode,
                               align_corners=False if mode == "bilinear" else None)
        if k == "maxpool":
            return nn.MaxPool2d(int(a["kernel"]), stride=int(a["stride"]))
        if k == "avgpool":
            return nn.AvgPool2d(int(a["kernel"]), stride=int(a["stride"]))
        if k == "globalavgpool":
            return nn.AdaptiveAvgPool2d(1)
        if k == "batchnorm":
            bn = nn.BatchNorm1d if self._in_flat(node) else nn.BatchNorm2d
            return bn(c, eps=a["eps"], momentum=a["momentum"], affine=bool(a["affine"]))
        if k == "dropout":
            return nn.Dropout(a["p"])
        if k == "dropout2d":
            return nn.Dropout2d(a["p"])
        if k == "leakyrelu":
            return nn.LeakyReLU(a["slope"])
        if k == "elu":
            return nn.ELU(a["alpha"])
        simple = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "flatten": nn.Flatten,
                  "add": Add, "concat": Concat}
        return simple[k]()

    def _in_shape(self, node):
        j = node.inputs[0]
        return self.input_shape if j < 0 else self.nodes[j].shape

    def _in_flat(self, node):
        j = node.inputs[0]
        return j >= 0 and self.nodes[j].flat

    def forward(self, x):
        outs = {-1: x}
        for i, node in enumerate(self.nodes):
            xs = [outs[j] for j in node.inputs]
            module, k = getattr(self, node.name), node.kind
            if k == "linear":
                y = module(torch.flatten(xs[0], 1))
            elif k in ("conv", "convtranspose", "upsample", "maxpool", "avgpool", "globalavgpool"):
                y = module(_as4d(xs[0]))
            elif k == "dropout2d" and xs[0].dim() == 2:
                y = module(_as4d(xs[0])).flatten(1)
            elif k in ("add", "concat"):
                if xs[0].dim() != xs[1].dim():
                    xs = [_as4d(t) for t in xs]
                y = module(*xs)
            else:
                y = module(xs[0])
            outs[i] = y
            for j in set(node.inputs):
                if self.last_reader.get(j) == i and j >= 0:
                    del outs[j]
        if self.task == "segment":
            return outs[len(self.nodes) - 1]  # (N, classes, H, W)
        return torch.flatten(outs[len(self.nodes) - 1], 1)

    def extra_repr(self):
        seg = ", per pixel (segment)" if self.task == "segment" else ""
        return f"input {'x'.join(map(str, self.input_shape))}, {self.classes} classes{seg}"


def _attr(group, name):
    v = group.attrs[name]
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.size == 1:
        return v.item()
    return v


def _damage(ds, value):
    """What is wrong with a dataset's values, or None: dptrain writes each float dataset with the
    sha256 of its values as little-endian float32 (checkpoint format 2); weights must be finite."""
    stored = ds.attrs.get("sha256")
    if stored is not None:
        stored = stored.decode() if isinstance(stored, bytes) else str(stored)
        if hashlib.sha256(value.astype("<f4").tobytes()).hexdigest() != stored:
            return "does not match its sha256: the file is damaged"
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        return "holds NaN or infinite values: the run diverged or the file was edited"
    return None


def load(path):
    """The network of a dptrain checkpoint as a DptrainNet (a torch.nn.Module) in eval mode,
    every parameter and buffer loaded from /model; ValueError saying what is wrong otherwise."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path}: not a readable HDF5 file ({e})") from None
    with f:
        if "model" not in f or "spec" not in f["model"].attrs:
            raise ValueError(f"{path}: not a dptrain checkpoint (no /model spec)")
        g = f["model"]
        shape = tuple(int(_attr(g, f"input_{d}")) for d in ("channels", "height", "width"))
        task = _attr(g, "task") if "task" in g.attrs else "classify"  # older files: classify
        try:
            net = DptrainNet(_attr(g, "spec"), shape, task)
        except SpecError as e:
            raise ValueError(f"{path}: {e}") from None
        if "classes" in g.attrs and int(_attr(g, "classes")) != net.classes:
            raise ValueError(f"{path}: the spec gives {net.classes} outputs, /model says "
                             f"{_attr(g, 'classes')} classes")
        state, missing, wrong = net.state_dict(), [], []
        for key, have in state.items():
            ds = "/model/" + key.replace(".", "/")
            if ds not in f:
                missing.append(ds)
                continue
            value = np.asarray(f[ds])
            problem = _damage(f[ds], value)
            if problem:
                raise ValueError(f"{path}: {ds} {problem}")
            if key.endswith("num_batches_tracked"):
                state[key] = torch.tensor(int(round(float(value))), dtype=torch.int64)
            elif tuple(value.shape) != tuple(have.shape):
                wrong.append(f"{ds} is {tuple(value.shape)}, PyTorch's {tuple(have.shape)}")
            else:
                state[key] = torch.from_numpy(value.astype(np.float32))
        expected = {"/model/" + k.replace(".", "/") for k in state}
        extra = []
        g.visititems(lambda name, obj: extra.append("/model/" + name)
                     if isinstance(obj, h5py.Dataset) and "/model/" + name not in expected
                     else None)
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if wrong:
            problems.append("; ".join(wrong))
        if extra:
            problems.append(f"not in the network: {', '.join(extra)}")
        if problems:
            raise ValueError(f"{path}: {'; '.join(problems)}")
        net.load_state_dict(state)
    return net.eval()


def count_parameters(net):
    return sum(p.numel() for p in net.parameters())


def read_idx(path):
    """An IDX file (optionally .gz) as a numpy array."""
    import gzip
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndims = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims)]
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndims)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {body.size} values, the header says {dims}")
    return body.reshape(dims)


def _idx_file(folder, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    raise ValueError(f"{folder}: no {name}[.gz]")


def evaluate_mnist(net, folder, mean, std, batch=1000):
    """Test loss and accuracy of net (eval mode) on folder's t10k files. mean, std: one value
    per input channel (a one-channel network's single value applies to the grey images)."""
    images = read_idx(_idx_file(folder, "t10k-images-idx3-ubyte"))
    labels = read_idx(_idx_file(folder, "t10k-labels-idx1-ubyte")).astype(np.int64)
    if images.ndim == 3:  # N x H x W: one channel
        images = images[:, None]
    if images.ndim != 4 or len(labels) != len(images):
        raise ValueError(f"{folder}: {images.shape} test images for {labels.shape} labels")
    shape = tuple(images.shape[1:])
    if shape != tuple(net.input_shape):
        raise ValueError(f"{folder}: test images are {'x'.join(map(str, shape))}, the network "
                         f"takes {'x'.join(map(str, net.input_shape))}")
    channels = shape[0]
    mean = np.atleast_1d(np.asarray(mean, np.float32))
    std = np.atleast_1d(np.asarray(std, np.float32))
    if mean.shape != (channels,) or std.shape != (channels,):
        raise ValueError(f"the checkpoint's /meta mean and std have {mean.size} and {std.size} "
                         f"values for {channels} input channels")
    # As dptrain standardizes (src/data.c), in float32, per channel c:
    # pixel * (1 / (255 std[c])) - mean[c] / std[c].
    scale = (np.float32(1) / (np.float32(255) * std)).reshape(1, channels, 1, 1)
    shift = (mean / std).reshape(1, channels, 1, 1)
    net.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(images[i:i + batch].astype(np.float32) * scale - shift)
            y = torch.from_numpy(labels[i:i + batch])
            z = net(x)
            loss += float(nn.functional.cross_entropy(z, y, reduction="sum"))
            correct += int((z.argmax(1) == y).sum())
    return loss / len(images), correct / len(images)


def _floats(values):
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="dptrain_torch.py",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--eval-mnist", metavar="DIR",
                    help="evaluate on DIR/t10k-images-idx3-ubyte[.gz] and its labels")
    args = ap.parse_args(argv[1:])
    try:
        net = load(args.checkpoint)
    except ValueError as e:
        print(f"dptrain_torch.py: {e}", file=sys.stderr)
        return 1
    print(net)
    buffers = sum(b.numel() for b in net.buffers())
    print(f"parameters: {count_parameters(net)}  buffers: {buffers}")
    if args.eval_mnist and net.task == "segment":
        print(f"dptrain_torch.py: --eval-mnist: {args.checkpoint} is a segmentation model; "
              f"--eval-mnist evaluates classifiers", file=sys.stderr)
        return 1
    if args.eval_mnist:
        channels = net.input_shape[0]
        mean, std = [0.1307] * channels, [0.3081] * channels
        with h5py.File(args.checkpoint, "r") as f:
            if "meta" in f and "mean" in f["meta"].attrs:
                mean = np.atleast_1d(np.asarray(f["meta"].attrs["mean"], np.float32)).tolist()
                std = np.atleast_1d(np.asarray(f["meta"].attrs["std"], np.float32)).tolist()
        try:
            loss, acc = evaluate_mnist(net, args.eval_mnist, mean, std)
        except (ValueError, OSError) as e:
            print(f"dptrain_torch.py: {e}", file=sys.stderr)
            return 1
        print(f"test (PyTorch {torch.__version__}, mean {_floats(mean)}, std {_floats(std)}): "
              f"loss {loss:.6f}  accuracy {acc:.4%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

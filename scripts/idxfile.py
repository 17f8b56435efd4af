"""Reading MNIST-style IDX files (Python stdlib only), checked, shared by scripts/idx2png and
scripts/make_mnist_seg.

    read_idx(path, ndims) -> (dims, data)   an unsigned-byte IDX file at path or path.gz
    Failure                                 a one-line problem with the input or output
"""
import gzip
import os
import struct
import zlib


class Failure(Exception):
    """A one-line problem with the input or output."""


def open_idx(path):
    """The IDX file at path or path.gz, opened for reading, and the name it was found under."""
    for name in (path, path + ".gz"):
        if os.path.exists(name):
            try:
                return (gzip.open(name, "rb") if name.endswith(".gz") else open(name, "rb")), name
            except OSError as e:
                raise Failure(f"{name}: cannot open: {e.strerror or e}")
    raise Failure(f"{path}: not found (nor {os.path.basename(path)}.gz)")


def read_idx(path, ndims):
    """(dims, data) of an unsigned-byte IDX file with ndims dimensions."""
    f, name = open_idx(path)
    try:
        with f:
            head = f.read(4 + 4 * ndims)
            if len(head) < 4 or head[:2] != b"\0\0":
                raise Failure(f"{name}: not an IDX file")
            if head[2] != 0x08:
                raise Failure(f"{name}: IDX data type 0x{head[2]:02x}, expected 0x08 "
                              "(unsigned byte)")
            if head[3] != ndims:
                raise Failure(f"{name}: IDX file has {head[3]} dimensions, expected {ndims}")
            if len(head) < 4 + 4 * ndims:
                raise Failure(f"{name}: header cut short in its dimensions")
            dims = struct.unpack(f">{ndims}I", head[4:])
            if any(d == 0 or d > 1 << 16 for d in dims[1:]):
                shape = "x".join(map(str, dims[1:]))
                raise Failure(f"{name}: image size {shape} is not an image's")
            size = 1
            for d in dims:
                size *= d
            # A header may promise more than the file can hold (deflate expands 1032-fold at
            # most): refused before anything that large is read.
            most = os.path.getsize(name) * (1032 if name.endswith(".gz") else 1)
            if size > most:
                raise Failure(f"{name}: truncated: the header promises {dims[0]} items "
                              f"({size} bytes), the file can hold at most {most}")
            data = f.read(size + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise Failure(f"{name}: cannot read: {e}")
    if len(data) != size:
        if len(data) < size:
            raise Failure(f"{name}: truncated: the header promises {dims[0]} items")
        raise Failure(f"{name}: more data than the header's {dims[0]} items")
    return dims, data

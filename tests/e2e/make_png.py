#!/usr/bin/env python3
"""Writes item N of an MNIST IDX image file as an 8-bit grayscale PNG (stdlib only), and prints
its label from the matching labels file: make_png.py IMAGES LABELS N OUT.png"""
import struct
import sys
import zlib

images, labels, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(images, "rb") as f:
    f.seek(16 + 784 * n)
    pixels = f.read(784)
with open(labels, "rb") as f:
    f.seek(8 + n)
    label = f.read(1)[0]
raw = b"".join(b"\x00" + pixels[28 * r:28 * r + 28] for r in range(28))


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


with open(out, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
print(label)

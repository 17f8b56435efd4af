#!/usr/bin/env python3
"""Prints WIDTHxHEIGHT of each PNG file (from its IHDR chunk; stdlib only)."""
import struct
import sys

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        sys.exit(f"{path}: not a PNG")
    print("%dx%d" % struct.unpack(">II", head[16:24]))

"""A small PNG writer (Python stdlib only: zlib and struct), shared by scripts/idx2png,
scripts/make_mnist_seg and the tests' generated datasets. Every call with the same arguments
writes the same bytes.

    png_bytes(width, height, channels, rows)   rows: height byte strings of width*channels
                                               samples (8-bit; 1 gray, 2 gray+alpha, 3 RGB,
                                               4 RGBA), or 2 bytes per sample with depth=16
    write_png(path, width, height, channels, rows, depth=8)
    gray_bytes(pixels, width, height)          an 8-bit gray PNG of width*height bytes,
                                               row-major
    write_gray(path, pixels, width, height)
    solid(width, height, channels, value=128)  the rows of an image of one value

png_bytes(..., ihdr_size=(W, H)) writes another size into the header than the data has (for
tests of headers that promise enormous images)."""
import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bytes(width, height, channels, rows, depth=8, ihdr_size=None):
    w, h = ihdr_size or (width, height)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, COLOUR_TYPE[channels], 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(r) for r in rows)  # filter type 0 (None) on every row
    return (SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


def write_png(path, width, height, channels, rows, depth=8, ihdr_size=None):
    with open(path, "wb") as f:
        f.write(png_bytes(width, height, channels, rows, depth, ihdr_size))


def gray_bytes(pixels, width, height):
    return png_bytes(width, height, 1, [pixels[width * r:width * (r + 1)] for r in range(height)])


def write_gray(path, pixels, width, height):
    with open(path, "wb") as f:
        f.write(gray_bytes(pixels, width, height))


def solid(width, height, channels, value=128):
    """Rows of one value, for tests that only need a valid image of some shape."""
    return [bytes([value]) * (width * channels)] * height

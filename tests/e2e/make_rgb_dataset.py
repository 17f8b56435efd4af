#!/usr/bin/env python3
"""Writes a deterministic RGB PNG-folder dataset of 3x28x28 images (stdlib only):

    make_rgb_dataset.py OUT [--classes 53] [--train 20] [--test 5] [--seed 1]

OUT/Train/<class>/NNNN.png and OUT/Test/<class>/NNNN.png. Class k is one combination of a
foreground colour (6) and a pattern (9) on a dark background: "c00-red-hstripes",
"c01-red-vstripes", ... (names, not numbers, sorted by name in class order). Each image has its
pattern at a random phase or offset, its colour jittered and every pixel noised, so a small CNN
has to learn colour and pattern, not memorize images; it does in a few epochs."""
import argparse
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from pngwrite import write_png  # noqa: E402  (scripts/pngwrite.py)

SIZE = 28
COLOURS = [("red", (220, 40, 40)), ("green", (40, 200, 40)), ("blue", (50, 70, 230)),
           ("yellow", (220, 210, 40)), ("cyan", (40, 210, 220)), ("magenta", (210, 50, 210))]
PATTERNS = ["hstripes", "vstripes", "diagonal", "checker", "dots", "ring", "cross", "frame",
            "square"]
NOISE = bytes(b % 41 for b in range(256))  # a random byte to a noise of 0..40


def on(pattern, x, y, rng_state):
    """Whether pixel (x, y) is foreground; rng_state = (phase, cx, cy) drawn per image."""
    p, cx, cy = rng_state
    if pattern == "hstripes":
        return (y + p) % 6 < 3
    if pattern == "vstripes":
        return (x + p) % 6 < 3
    if pattern == "diagonal":
        return (x + y + p) % 8 < 4
    if pattern == "checker":
        return ((x + p) // 4 + (y + p) // 4) % 2 == 0
    if pattern == "dots":
        return (x + p) % 7 < 2 and (y + p) % 7 < 2
    d2 = (x - cx) ** 2 + (y - cy) ** 2
    if pattern == "ring":
        return 25 <= d2 <= 64
    if pattern == "cross":
        return abs(x - cx) <= 1 or abs(y - cy) <= 1
    if pattern == "frame":
        return min(x, y, SIZE - 1 - x, SIZE - 1 - y) in (p % 3 + 1, p % 3 + 2)
    if pattern == "square":
        return abs(x - cx) <= 5 and abs(y - cy) <= 5
    raise ValueError(pattern)


def image(k, rng):
    name, colour = COLOURS[k // len(PATTERNS)]
    pattern = PATTERNS[k % len(PATTERNS)]
    state = (rng.randrange(12), rng.randint(10, 17), rng.randint(10, 17))
    # Every sample in 20..215 before noise of 0..40 is added and 20 taken away: the sums stay
    # bytes, so they are done on whole images as big integers (no carries, no borrows).
    fg = bytes(min(215, max(20, c + rng.randint(-25, 25))) for c in colour)
    bg = bytes([rng.randint(20, 50)] * 3)
    clean = b"".join(fg if on(pattern, x, y, state) else bg
                     for y in range(SIZE) for x in range(SIZE))
    noise = rng.randbytes(len(clean)).translate(NOISE)
    pixels = (int.from_bytes(clean, "big") + int.from_bytes(noise, "big")
              - int.from_bytes(b"\x14" * len(clean), "big")).to_bytes(len(clean), "big")
    return [pixels[SIZE * 3 * y:SIZE * 3 * (y + 1)] for y in range(SIZE)]


def class_name(k):
    return f"c{k:02d}-{COLOURS[k // len(PATTERNS)][0]}-{PATTERNS[k % len(PATTERNS)]}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--classes", type=int, default=53)
    ap.add_argument("--train", type=int, default=20, help="training images per class")
    ap.add_argument("--test", type=int, default=5, help="test images per class")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not 1 <= a.classes <= len(COLOURS) * len(PATTERNS):
        sys.exit(f"make_rgb_dataset.py: --classes must be in 1..{len(COLOURS) * len(PATTERNS)}")
    rng = random.Random(a.seed)
    for split, n in (("Train", a.train), ("Test", a.test)):
        for k in range(a.classes):
            folder = os.path.join(a.out, split, class_name(k))
            os.makedirs(folder, exist_ok=True)
            for i in range(n):
                write_png(os.path.join(folder, f"{i:04d}.png"), SIZE, SIZE, 3, image(k, rng))


if __name__ == "__main__":
    main()

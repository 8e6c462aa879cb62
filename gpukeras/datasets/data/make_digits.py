"""Rebuild digits.npz from scikit-learn's copy of the UCI digits (a maintainer's tool).

scikit-learn is not a dependency of gpukeras; fetch its wheel by hand:

    pip download --no-deps -d /tmp/skl scikit-learn
    unzip -o /tmp/skl/scikit_learn-*.whl 'sklearn/datasets/data/digits.csv.gz' -d /tmp/skl
    python gpukeras/datasets/data/make_digits.py /tmp/skl/sklearn/datasets/data/digits.csv.gz

Each CSV row holds the 64 pixel counts (0..16) of one 8x8 image, then its label.
"""

from __future__ import annotations

import os
import sys

import numpy as np


def main(csv_path: str) -> None:
    rows = np.loadtxt(csv_path, delimiter=",", dtype=np.int64)
    if rows.shape != (1797, 65):
        raise ValueError(f"Expected 1797 rows of 65 values. Received shape {rows.shape}")
    images = rows[:, :64].reshape(-1, 8, 8).astype(np.uint8)
    labels = rows[:, 64].astype(np.uint8)
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.npz")
    np.savez_compressed(target, images=images, labels=labels)
    print(f"wrote {target}: images {images.shape} {images.dtype}, labels {labels.shape}")


if __name__ == "__main__":
    main(sys.argv[1])

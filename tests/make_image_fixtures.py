"""Write tests/fixtures/image_transforms.npz: affine transforms computed by Keras's own code.

Keras 3's legacy ``apply_affine_transform`` swaps the row and column coordinates of its
matrix (keras-preprocessing 1.1 did the same); Keras up to 2.2.4, and gpukeras, do not.
On a square image the two agree once the image is transposed, so each case is Keras's
result on the transposed image, transposed back. Run offline, from the repository root:

    KERAS_BACKEND=jax /work/kerasref/bin/python tests/make_image_fixtures.py
"""

from __future__ import annotations

import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "fixtures", "image_transforms.npz")
CASES = [
    ({"theta": 30.0}, "nearest"),
    ({"tx": 1.5, "ty": -2.0}, "constant"),
    ({"shear": 20.0}, "reflect"),
    ({"zx": 0.7, "zy": 1.3}, "wrap"),
    ({"theta": -15.0, "tx": 1.0, "ty": 0.5, "shear": 10.0, "zx": 1.2, "zy": 0.9}, "nearest"),
]


def main() -> None:
    from keras.src.legacy.preprocessing.image import apply_affine_transform

    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (7, 7, 2)).astype("float32")
    arrays = {"image": image}
    for index, (params, fill_mode) in enumerate(CASES):
        transposed = image.transpose(1, 0, 2)
        out = apply_affine_transform(
            transposed, **params, row_axis=0, col_axis=1, channel_axis=2,
            fill_mode=fill_mode, cval=0.25,
        )  # fmt: skip
        arrays[f"case{index}"] = out.transpose(1, 0, 2)
    np.savez_compressed(OUT, **arrays)


if __name__ == "__main__":
    main()

"""``cupy.cuda.nccl`` for the stand-in: NCCL is not available (as on a CuPy without it)."""

available = False

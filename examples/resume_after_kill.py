"""Kill a training run half-way, restart it, and end with exactly the weights of an unbroken run.

``BackupAndRestore(backup_dir, save_freq=7)`` writes the whole training state every 7
batches: weights, optimizer state, the epoch and batch reached, the epoch's shuffle order and
running sums, and every random stream. When ``fit`` starts and finds a backup, it restores it
and continues from that batch.

The script plays all three parts. It launches itself as a child that trains with the backup
and pauses in the middle of an epoch; the parent kills it there with SIGKILL (no cleanup, no
chance to save anything more). It launches the same command again: the child finds the
backup, resumes in the middle of the interrupted epoch and finishes. Finally a third child
trains from scratch without interruption. On the NumPy backend the resumed run's final
weights are bit-for-bit those of the unbroken run.

    python examples/resume_after_kill.py [--epochs 4] [--seed 1]

Set GPUKERAS_BACKEND=numpy or cupy to choose where the arrays live (default: auto). On CuPy
the resumed run is reproducible but not bit-identical: cuRAND's state cannot be read back.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import gpukeras as keras
from gpukeras.callbacks import BackupAndRestore, Callback
from gpukeras.datasets import digits
from gpukeras.layers import Dense, Dropout
from gpukeras.models import Sequential

SAVE_EVERY = 7  # batches between backups


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4, help="training epochs (default 4)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    # The child's options (the parent passes them; you need not).
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backup-dir", help=argparse.SUPPRESS)
    parser.add_argument("--weights-out", help=argparse.SUPPRESS)
    parser.add_argument("--pause-at", type=int, nargs=2, help=argparse.SUPPRESS)
    return parser.parse_args()


# -- the child: one training run --------------------------------------------------
class Reporter(Callback):
    """Says where this process starts training; can pause so that the parent kills it there."""

    def __init__(self, pause_at: tuple[int, int] | None) -> None:
        super().__init__()
        self.pause_at = pause_at
        self.epoch = 0
        self.first_batch = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.first_batch:
            say(f"first batch trained by this process: batch {batch + 1} of epoch {self.epoch + 1}")
            self.first_batch = False
        if self.pause_at and (self.epoch, batch) == self.pause_at:
            say(f"pausing after batch {batch + 1} of epoch {self.epoch + 1}")
            time.sleep(120)  # the parent kills us here


def say(message: str) -> None:
    print(message, flush=True)


def train(args: argparse.Namespace) -> None:
    keras.utils.set_random_seed(args.seed)
    (x, y), _ = digits.load_data()
    x = x.reshape(len(x), -1).astype("float32") / 16
    model = Sequential(
        [keras.Input((64,)), Dense(64, activation="relu"), Dropout(0.2), Dense(10, "softmax")]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks: list[Callback] = [Reporter(tuple(args.pause_at) if args.pause_at else None)]
    if args.backup_dir:
        callbacks.append(BackupAndRestore(args.backup_dir, save_freq=SAVE_EVERY))
    history = model.fit(x, y, batch_size=32, epochs=args.epochs, callbacks=callbacks, verbose=0)
    say(f"finished: loss {history.history['loss'][-1]:.6f}")
    np.savez(args.weights_out, *model.get_weights())


# -- the parent: kill, resume, compare ---------------------------------------------
def child(args: argparse.Namespace, folder: str, name: str, *extra: str) -> subprocess.Popen:
    command = [sys.executable, __file__, "--child", "--epochs", str(args.epochs)]
    command += ["--seed", str(args.seed), "--weights-out", os.path.join(folder, name), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def show(prefix: str, line: str) -> None:
    print(f"  [{prefix}] {line.rstrip()}")


def run_to_end(process: subprocess.Popen, prefix: str) -> None:
    for line in process.stdout:  # type: ignore[union-attr]
        show(prefix, line)
    if process.wait() != 0:
        sys.exit(f"{prefix} run failed with exit code {process.returncode}")


def main() -> None:
    args = parse_args()
    if args.child:
        train(args)
        return
    pause_epoch = args.epochs // 2  # 0-based: the middle epoch
    with tempfile.TemporaryDirectory() as folder:
        backup = ["--backup-dir", os.path.join(folder, "backup")]
        print(f"1. Train with a backup every {SAVE_EVERY} batches; kill it half-way")
        first = child(args, folder, "never.npz", *backup, "--pause-at", str(pause_epoch), "10")
        for line in first.stdout:  # type: ignore[union-attr]
            show("first", line)
            if line.startswith("pausing"):
                first.kill()  # SIGKILL on POSIX: the process gets no say
                break
        first.wait()
        print(
            f"   killed (exit code {first.returncode}); the batches it trained after its last "
            f"backup (at most {SAVE_EVERY}) are lost"
        )

        print("2. Run the same command again: it resumes from the backup")
        run_to_end(child(args, folder, "resumed.npz", *backup), "again")

        print("3. For comparison, train from scratch without interruption")
        run_to_end(child(args, folder, "unbroken.npz"), "unbroken")

        resumed = np.load(os.path.join(folder, "resumed.npz"))
        unbroken = np.load(os.path.join(folder, "unbroken.npz"))
        identical = all(np.array_equal(resumed[k], unbroken[k]) for k in unbroken.files)
        largest = max(float(np.abs(resumed[k] - unbroken[k]).max()) for k in unbroken.files)
        left = os.listdir(os.path.join(folder, "backup")) if os.path.isdir(backup[1]) else []
    print(f"Resumed run's weights identical to the unbroken run's: {'yes' if identical else 'no'}")
    print(f"Largest difference: {largest:.3g}")
    print(f"Backup files left after the successful run: {len(left)}")


if __name__ == "__main__":
    main()

"""``keras.src.utils.file_utils`` for the Keras suite: the path helpers Keras's tests build file
names with. Keras's versions also speak to remote filesystems; local paths are all the tests use."""

from __future__ import annotations

import os

join = os.path.join
exists = os.path.exists
isdir = os.path.isdir
listdir = os.listdir
makedirs = os.makedirs
# Keras's File opens remote paths too (through TensorFlow's gfile); a local open is the same.
File = open

"""The seed document's "Example: model checkpoints", run on gpukeras.

The code below the data section is the seed's, unchanged except the imports. The
seed trained on MNIST-shaped data (784 features, 10 one-hot classes); here the data
are the digits shipped with gpukeras, each 8x8 image zero-padded to 28x28 in the
middle, so the seed's input_dim=784 fits as written. The best model so far is
written to /tmp/weights.hdf5, as in the seed.
"""

import numpy as np

import gpukeras as keras
from gpukeras.datasets import digits
from gpukeras.layers import Activation, Dense
from gpukeras.models import Sequential


# --- data: 784 features in [0, 1], one-hot labels -------------------------------
def padded_to_784(images):
    return np.pad(images, ((0, 0), (10, 10), (10, 10))).reshape(-1, 784).astype("float32") / 16


keras.utils.set_random_seed(1)
(x_train, y_train), (x_test, y_test) = digits.load_data()
X_train, X_test = padded_to_784(x_train), padded_to_784(x_test)
Y_train, Y_test = keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_test, 10)

# --- the seed's example ---------------------------------------------------------
from gpukeras.callbacks import ModelCheckpoint

model = Sequential()
model.add(Dense(10, input_dim=784, init='uniform'))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', optimizer='rmsprop')

'''
saves the model weights after each epoch if the validation loss decreased
'''
checkpointer = ModelCheckpoint(filepath="/tmp/weights.hdf5", verbose=1, save_best_only=True)
model.fit(X_train, Y_train, batch_size=128, nb_epoch=20, verbose=0, validation_data=(X_test, Y_test), callbacks=[checkpointer])

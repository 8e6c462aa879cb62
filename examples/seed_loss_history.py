"""The seed document's "Example: recording loss history", run on gpukeras.

The code below the data section is the seed's, unchanged except Python 3's print()
and the imports. The seed trained on MNIST-shaped data (784 features, 10 one-hot
classes); here X_train/Y_train are the digits shipped with gpukeras, each 8x8 image
zero-padded to 28x28 in the middle, so the seed's input_dim=784 fits as written.
"""

import numpy as np

import gpukeras as keras
from gpukeras.datasets import digits
from gpukeras.layers import Activation, Dense
from gpukeras.models import Sequential

# --- data: 784 features in [0, 1], one-hot labels -------------------------------
keras.utils.set_random_seed(1)
(x_train, y_train), (x_test, y_test) = digits.load_data()
X_train = np.pad(x_train, ((0, 0), (10, 10), (10, 10))).reshape(-1, 784).astype("float32") / 16
Y_train = keras.utils.to_categorical(y_train, 10)


# --- the seed's example ---------------------------------------------------------
class LossHistory(keras.callbacks.Callback):
    def on_train_begin(self, logs={}):
        self.losses = []

    def on_batch_end(self, batch, logs={}):
        self.losses.append(logs.get('loss'))

model = Sequential()
model.add(Dense(10, input_dim=784, init='uniform'))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', optimizer='rmsprop')

history = LossHistory()
model.fit(X_train, Y_train, batch_size=128, nb_epoch=20, verbose=0, callbacks=[history])

print(history.losses)

"""Keras side of the window stream: a ``PyDataset`` over a :class:`WindowSampler`."""

from . import backend
from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
import keras

from .dataset import as_dataset
from .windows import WindowSampler

__all__ = ["NextDraw", "WindowDataset", "fit_input", "window_datasets"]


class WindowDataset(keras.utils.PyDataset):
    """Feeds ``WindowSampler`` batches to ``model.fit``; a new draw each epoch."""

    def __init__(self, sampler, **kwargs):
        super().__init__(**kwargs)
        self.sampler = sampler

    def __len__(self):
        return len(self.sampler)

    def __getitem__(self, index):
        return self.sampler.batch(index)

    def on_epoch_end(self):
        self.sampler.epoch += 1


def fit_input(sampler, strategy=None):
    """What ``model.fit`` (or ``evaluate``) reads ``sampler``'s batches from: a :class:`WindowDataset`, or on
    TensorFlow with one device (``strategy`` None or the default one) a ``tf.data`` pipeline of the same batches,
    in order, with tf.data's autotuning off (its epochs are advanced by :class:`NextDraw`). Keras feeds a
    ``PyDataset`` to TensorFlow through ``prefetch(AUTOTUNE)``, and the end of each epoch's iterator waited for the
    autotuning thread: on 2 busy cores 30 to 40 s (4 of 5 two-minute runs of a probe), and a budget's last epoch
    became one batch."""
    if not backend.one_tensorflow_device(strategy):  # (JAX; Keras' path for a strategy)
        return WindowDataset(sampler)
    first = sampler.batch(0)
    # Keras ends an epoch of a PyDataset before the first (fit and evaluate reset its iterator after a look at its
    # batches): the first epoch draws as the sampler's next, and so here, so that a run trains on the same batches
    # either way, and on either backend
    sampler.epoch += 1
    return backend.batch_pipeline(lambda: (sampler.batch(index) for index in range(len(sampler))), first,
                                  len(sampler))


class NextDraw(keras.callbacks.Callback):
    """At each epoch's end, the sampler of a :func:`fit_input` pipeline draws anew (as :class:`WindowDataset`'s
    ``on_epoch_end`` has it do)."""

    def __init__(self, sampler):
        super().__init__()
        self.sampler = sampler

    def on_epoch_end(self, epoch, logs=None):
        self.sampler.epoch += 1


def window_datasets(dataset, *, sequence_length, batch_size, mode="sequence", steps_per_epoch=None,
                    validation_hop=None, seed=0):
    """``(training, validation)`` PyDatasets for ``fit`` from a dataset or its folder."""
    dataset = as_dataset(dataset)
    training = WindowSampler(dataset.array("train"), dataset.segments("train"),
                             sequence_length=sequence_length, batch_size=batch_size, mode=mode,
                             shuffle=True, steps=steps_per_epoch, seed=seed, name="training")
    validation = WindowSampler(dataset.array("validation"), dataset.segments("validation"),
                               sequence_length=sequence_length, batch_size=batch_size, mode=mode,
                               shuffle=False, hop=validation_hop, name="validation")
    return WindowDataset(training), WindowDataset(validation)

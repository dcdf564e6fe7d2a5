"""Keras side of the window stream: a ``PyDataset`` over a :class:`WindowSampler`."""

from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
import keras

from .dataset import as_dataset
from .windows import WindowSampler

__all__ = ["WindowDataset", "window_datasets"]


# Batches made by this many threads, in order (Keras' OrderedEnqueuer), ahead of the step that takes them. One
# (Keras' default) feeds TensorFlow through tf.data's prefetch with its autotuning on, whose thread the iterator's
# end waits for: on 2 busy cores an epoch's end stalled 30 to 40 s (4 of 5 two-minute runs of a probe), and a
# budget's last epoch became one batch. With the enqueuer, Keras turns tf.data's autotuning off.
BATCH_THREADS = 2


class WindowDataset(keras.utils.PyDataset):
    """Feeds ``WindowSampler`` batches to ``model.fit``; a new draw each epoch (made by :data:`BATCH_THREADS`
    threads, in order)."""

    def __init__(self, sampler, **kwargs):
        super().__init__(**{"workers": BATCH_THREADS, "use_multiprocessing": False, **kwargs})
        self.sampler = sampler

    def __len__(self):
        return len(self.sampler)

    def __getitem__(self, index):
        return self.sampler.batch(index)

    def on_epoch_end(self):
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

"""Keras side of the window stream: a ``PyDataset`` over a :class:`WindowSampler`."""

from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
import keras

from .dataset import as_dataset
from .windows import WindowSampler

__all__ = ["WindowDataset", "window_datasets"]


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

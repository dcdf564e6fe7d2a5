"""What a Keras model needs to train under TensorFlow's MultiWorkerMirroredStrategy (Keras 3.15).

:class:`MultiWorkerModel` is a ``keras.Model`` with three patches, kept apart
from the network (:class:`audiornn.model.AudioRNN` inherits them); the rest of
the distribution code is :func:`audiornn.backend.distribution` (the strategy)
and :mod:`audiornn.cluster` (the workers meeting before TensorFlow starts).
The tests of several workers are in ``tests/test_multiworker.py``.
"""

from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
import keras
import numpy as np
from keras import ops

from . import backend

__all__ = ["MultiWorkerModel"]


class MultiWorkerModel(keras.Model):
    """A ``keras.Model`` whose loss and metrics are built from shapes before ``fit`` and whose metrics reduce
    across workers. Subclasses give :meth:`example_inputs` ``(batch, length) -> inputs``."""

    def build_for_fit(self, inputs_shape, targets_shape):
        """Build the compiled loss and metrics from shapes alone, before ``fit``.

        Keras (3.15) otherwise builds them in ``fit`` from a first batch that it averages across replicas
        with ``strategy.reduce``, which fails under MultiWorkerMirroredStrategy for integer windows; built
        here, :meth:`_maybe_symbolic_build` has nothing left to do.
        """
        self._symbolic_build(data_batch=(self.example_inputs(*inputs_shape), np.zeros(targets_shape, "int32")))

    def get_metrics_result(self):
        results = super().get_metrics_result()
        if backend.in_multi_worker_replica():
            # Keras (3.15) averages each replica's value across workers along axis 0, which a scalar
            # does not have (tensorflow#72388): one element per replica averages to the global mean.
            results = {name: ops.reshape(value, (1,)) for name, value in results.items()}
        return results

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        metrics, loss = getattr(self, "_compile_metrics", None), getattr(self, "_compile_loss", None)
        if self.built and (metrics is None or metrics.built) and (loss is None or loss.built):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

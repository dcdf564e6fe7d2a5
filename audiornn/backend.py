"""What differs between Keras backends, in one place: the rest of audiornn is ``keras.ops``.

audiornn runs on TensorFlow or JAX, whichever Keras uses (``KERAS_BACKEND``;
:mod:`audiornn` picks JAX when it is unset and TensorFlow is not installed).
This module is the only one that imports either, for the few real
differences:

- :func:`start`: start the backend's runtime with its start-up chatter off
  the terminal;
- :func:`compiled`: an XLA-compiled loop (TensorFlow: ``tf.function(jit_compile=True)``;
  JAX: ``jax.jit`` over the model's variables' values inside a
  ``keras.StatelessScope``, as keras-hub's ``CausalLM.make_generate_function``
  does, so new weights need no new compilation and none is baked in);
- :func:`uniform`: the seeded per-position uniform draw of generation;
- :func:`carry_variable`: a variable for the state carried between training
  batches (TensorFlow: one per replica under a ``tf.distribute`` strategy;
  JAX: a Keras variable the model tracks while training, so a stateless
  training step returns its new value);
- :func:`distribution`: where training runs (TensorFlow: a ``tf.distribute``
  strategy, several workers included; JAX: ``keras.distribution.DataParallel``
  over the visible devices when there are several) and :func:`lost_worker`.
"""

import contextlib
import importlib.util
import logging
import os
from pathlib import Path

import numpy as np

from .errors import ParameterError

__all__ = ["BACKENDS", "COMPILE_CACHE", "JaxDevices", "batch_pipeline", "carry_variable", "compiled", "cond", "devices",
           "distribution", "forget_unused_compile_caches", "index_dtype", "is_tensorflow", "machine_tag", "name",
           "one_tensorflow_device", "release_compiled_if_crowded", "start", "start_quietly", "start_runtime_quietly",
           "sync_training_state", "tensorflow_beside", "uniform", "use_compile_cache", "wide_float"]

BACKENDS = ("tensorflow", "jax")


def index_dtype():
    """Integer type of generation's seed and sample position: JAX computes in 32 bits (without
    jax_enable_x64), so a stream's position there wraps after 2**31 samples (74 hours at 8 kHz)."""
    return "int64" if is_tensorflow() else "int32"


def wide_float():
    """The widest float the backend computes in: float64 on TensorFlow, float32 on JAX (without
    jax_enable_x64, which would change every default dtype)."""
    return "float64" if is_tensorflow() else "float32"


def name():
    """The Keras backend in use ("tensorflow" or "jax"); any other is refused with what to do."""
    import keras

    backend = keras.backend.backend()
    if backend not in BACKENDS:
        raise ParameterError(f"audiornn runs on the TensorFlow or JAX backend of Keras, not {backend!r}: "
                             f"set KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax")
    return backend


def is_tensorflow():
    return name() == "tensorflow"


@contextlib.contextmanager
def native_stderr_silenced():
    """File descriptor 2 to /dev/null for a while: native start-up lines bypass Python's ``sys.stderr``."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# whether start_quietly chose the log level; the runtime started; TensorFlow beside another backend to be imported
# with its lines kept out (tensorflow_beside)
_QUIET = {"chosen": False, "started": False, "tensorflow": False}


class _NoRetracingNote(logging.Filter):
    """TensorFlow's "N out of the last M calls to <function> triggered tf.function retracing" left out: each model
    a notebook trains, and each length it vocodes, traces its own functions by design, and the note's advice
    (``reduce_retracing``, tensors for Python values) is audiornn's to take, not the user's."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


_RETRACING_NOTE = _NoRetracingNote()


def start_quietly():
    """Import Keras and its backend with their start-up lines kept out, where nothing has imported Keras yet and
    the user has not chosen what TensorFlow prints (``TF_CPP_MIN_LOG_LEVEL``, here set to warnings and errors):
    what a notebook's first import of a module that needs Keras does. Unlike :func:`start`, no runtime is
    started and no logger is quietened, so the user can still configure devices, threads or a multi-worker
    strategy afterwards; :func:`start_runtime_quietly` starts it, the first time a model is made. TensorFlow's
    retracing note is left out whatever imported Keras (:class:`_NoRetracingNote`)."""
    import sys

    logging.getLogger("tensorflow").addFilter(_RETRACING_NOTE)  # (once: a filter is added once)
    if "keras" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    _QUIET["chosen"] = True
    _QUIET["tensorflow"] = True
    with native_stderr_silenced():
        import keras  # noqa: F401 - TensorFlow's absl preamble and CPU-feature lines are printed here


def start_runtime_quietly():
    """Start the backend's runtime (its device probe: on a machine without a GPU, TensorFlow's "failed call to
    cuInit" line) with its lines kept out, once, where :func:`start_quietly` chose the log level: the first
    model made starts it anyway, and this is where that line would be printed."""
    if not _QUIET["chosen"] or _QUIET["started"]:
        return
    _QUIET["started"] = True
    with native_stderr_silenced():
        if is_tensorflow():
            import tensorflow as tf

            tf.config.list_physical_devices()
            if not os.environ.get("TF_CONFIG"):  # a multi-worker strategy configures the runtime first
                tf.constant(0.0).numpy()
        else:
            import jax

            jax.devices()


# JAX's compiled programs kept on disk between processes (its persistent compilation cache), in audiornn's cache
# folder: a new process loads vocoder-16k and vocodes its first input sooner (bench/first_call.py, 2 cores: load
# and first call 11.7 and 14.1 s -> 8.5 and 7.8 s). AUDIORNN_COMPILE_CACHE: another folder, or 0 for none; a cache
# the user set JAX (JAX_COMPILATION_CACHE_DIR, jax_compilation_cache_dir, JAX_ENABLE_COMPILATION_CACHE=false) is
# left as it is. At most COMPILE_CACHE_BYTES a folder: JAX evicts the programs used longest ago (with the filelock
# package; without it, no cap). JAX takes a damaged entry as a warning and compiles again. Not on TensorFlow
# (--tf_xla_persistent_cache_directory): its first call came 2 to 2.5 s sooner, but an entry it cannot write (a
# full home folder, a quota, ulimit -f) or read (one cut short) fails every compiled call (measured), and a user's
# home can fill.
COMPILE_CACHE = "AUDIORNN_COMPILE_CACHE"
COMPILE_CACHE_BYTES = 512 * 2 ** 20
COMPILE_CACHE_SECONDS = 0.1  # programs that took less than this to compile are not kept (JAX's default: 1 s)
COMPILE_CACHE_UNUSED_DAYS = 30  # another version's or CPU's folder beside this one, unused this long, is removed
_COMPILE_CACHE = {"decided": False, "folder": None}


def machine_tag():
    """A short name of this machine's CPU (a hash of its model and instruction sets on Linux; elsewhere of the
    platform's words, which tell less): compiled programs are kept apart by it, so that a home folder shared by
    machines of other CPUs does not run code built for another."""
    import hashlib
    import platform

    described = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            lines = [line for line in cpuinfo if line.startswith(("model name", "flags", "Features", "CPU part"))]
        described += "".join(dict.fromkeys(lines))  # each distinct line once (one per core)
    except OSError:  # not Linux: the platform's own words
        described += platform.processor()
    return hashlib.sha256(described.encode()).hexdigest()[:12]


def forget_unused_compile_caches(folder, days=COMPILE_CACHE_UNUSED_DAYS):
    """Remove the folders of compiled programs beside ``folder`` (``jax-VERSION-CPU`` of another version of JAX or
    another CPU) that nothing has read or written for ``days``: each upgrade of JAX would otherwise leave its
    folder, up to the cap, for good. A folder in use is touched by JAX at every read (its cap's time of use) or
    write. Only a folder that holds nothing but JAX's entries (``*-cache``, ``*-atime``, its ``.lockfile``) is
    removed: a user's own folder of a like name, beside a cache folder named by ``AUDIORNN_COMPILE_CACHE``, is
    left, as is one that cannot be removed. The folders removed."""
    import re
    import shutil
    import time

    folder = Path(folder)
    limit, removed = time.time() - days * 86400, []
    for other in folder.parent.glob("jax-*"):
        if other.name == folder.name or not re.fullmatch(r"jax-[^/]+-[0-9a-f]{12}", other.name) \
                or other.is_symlink() or not other.is_dir():
            continue
        try:
            entries = list(other.iterdir())
            if not all((entry.name.endswith(("-cache", "-atime")) or entry.name == ".lockfile")
                       and entry.is_file() and not entry.is_symlink() for entry in entries):
                continue
            last = max([entry.stat().st_mtime for entry in entries] + [other.stat().st_mtime])
            if last < limit:
                shutil.rmtree(other)
                removed.append(other)
        except OSError as error:
            logging.getLogger("audiornn").debug("compiled programs in %s left: %s", other, error)
    return removed


def use_compile_cache():
    """Keep JAX's compiled programs in audiornn's cache folder (see :data:`COMPILE_CACHE`), once a process, before
    its first compilation: in ``jax-VERSION-CPU`` (:func:`machine_tag`) under the user's cache folder or the one
    ``AUDIORNN_COMPILE_CACHE`` names. The folder used, or None: TensorFlow; none wanted; the user's own; a folder
    that cannot be found or written (each process then compiles, as before)."""
    if _COMPILE_CACHE["decided"]:
        return _COMPILE_CACHE["folder"]
    _COMPILE_CACHE["decided"] = True
    chosen = os.environ.get(COMPILE_CACHE, "").strip()
    if chosen.lower() in ("0", "no", "off", "false", "none") or is_tensorflow():
        return None
    import jax

    if os.environ.get("JAX_COMPILATION_CACHE_DIR") or jax.config.jax_compilation_cache_dir \
            or not jax.config.jax_enable_compilation_cache:
        return None
    try:
        if chosen.lower() in ("", "1", "yes", "on", "true"):
            import platformdirs

            chosen = platformdirs.user_cache_dir("audiornn")  # (no home folder to be found: RuntimeError)
        from jax import version

        folder = Path(chosen).expanduser().resolve() / f"jax-{version.__version__}-{machine_tag()}"
        folder.mkdir(parents=True, exist_ok=True)
        forget_unused_compile_caches(folder)
        import tempfile

        tempfile.TemporaryFile(dir=folder).close()
        capped = importlib.util.find_spec("filelock") is not None
        if capped:  # JAX's cap fails every write where an entry has no time of use (one written without the cap)
            for entry in folder.glob("*-cache"):
                if not entry.with_name(entry.name[:-len("-cache")] + "-atime").exists():
                    entry.unlink(missing_ok=True)
    except Exception as error:  # (a folder audiornn cannot use is no reason to stop: it compiles, as before)
        logging.getLogger("audiornn").debug("compiled programs are not kept: %s", error)
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", COMPILE_CACHE_SECONDS)
    if capped:
        try:
            jax.config.update("jax_compilation_cache_max_size", COMPILE_CACHE_BYTES)
        except AttributeError:  # (a JAX without the cap)
            pass
    _COMPILE_CACHE["folder"] = folder
    return folder


def start(*, verbose=False):
    """Start the backend's runtime, keeping its start-up lines (absl's preamble, the CUDA probe on a machine
    without a GPU, CPU-feature notes, JAX's platform fallbacks) off the terminal unless ``verbose``."""
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    with contextlib.nullcontext() if verbose else native_stderr_silenced():
        import keras  # noqa: F401 - with the TensorFlow backend this imports TensorFlow, whose lines start here

        if is_tensorflow():
            import tensorflow as tf

            tf.config.list_physical_devices()
            if not os.environ.get("TF_CONFIG"):
                # The first operation starts the runtime, which has lines of its own; a multi-worker
                # strategy must configure the runtime first, so there it starts with training.
                tf.constant(0.0).numpy()
            if not verbose:
                tf.get_logger().setLevel(logging.ERROR)
        else:
            if not verbose:
                for logger in ("jax._src.xla_bridge", "jax._src.compiler", "absl"):
                    logging.getLogger(logger).setLevel(logging.ERROR)
            import jax

            _QUIET["tensorflow"] = not verbose
            use_compile_cache()  # (before the first compilation)
            jax.devices()
            jax.numpy.zeros(()).block_until_ready()


def tensorflow_beside():
    """On a backend other than TensorFlow, import an installed TensorFlow with its start-up lines (absl's
    preamble, CPU features, its device probe: on a machine without a GPU "failed call to cuInit", which
    TensorBoard's writer would otherwise start after the first epoch) kept out where :func:`start` or
    :func:`start_quietly` keeps the backend's out. Training calls it: Keras imports TensorFlow on any backend when
    it seeds (``keras.utils.set_random_seed``) and when it saves a model. Generating, vocoding and scoring never
    import it, which spares each process TensorFlow's import (2 to 6 s on 2 cores)."""
    import sys

    if is_tensorflow() or "tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None:
        return
    with native_stderr_silenced() if _QUIET["tensorflow"] else contextlib.nullcontext():
        import tensorflow

        tensorflow.config.list_physical_devices()


def devices():
    """The names of the accelerators (or CPUs) the backend computes on, for reports."""
    start_runtime_quietly()
    if is_tensorflow():
        import tensorflow as tf

        found = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return [device.name for device in found]
    import jax

    return [str(device) for device in jax.devices()]


def on_cpu():
    """Whether the backend computes on the CPU (no GPU or other accelerator): training then takes the machine's
    memory."""
    start_runtime_quietly()
    if is_tensorflow():
        import tensorflow as tf

        return not tf.config.list_logical_devices("GPU")
    import jax

    return jax.default_backend() == "cpu"


def cond(predicate, true_fn, false_fn):
    """``keras.ops.cond``, but decided in Python where ``predicate`` is a value rather than a traced tensor (a
    model's eager :meth:`~audiornn.model.AudioRNN.step`): JAX's ``lax.cond`` called eagerly compiles both branches
    anew on every call, since each step's closures are new functions (0.7 s a step on 2 cores, where the step
    itself takes milliseconds). TensorFlow's eager ``cond`` already runs the one branch."""
    from keras import ops

    if not is_tensorflow():
        import jax

        if not isinstance(predicate, jax.core.Tracer):
            return true_fn() if bool(np.asarray(predicate)) else false_fn()
    return ops.cond(predicate, true_fn, false_fn)


def compiled(function, model, static=()):
    """``function`` (of tensors and nested structures of them, reading ``model``'s weights) compiled with XLA.

    ``static``: the positions of Python int arguments that shape what the
    function makes (a loop's length): JAX compiles once per value of them,
    TensorFlow takes them as tensors and compiles once for all.
    """
    if is_tensorflow():
        import tensorflow as tf

        traced = tf.function(function, jit_compile=True, reduce_retracing=True, autograph=False)
        # Traced again for a new batch or length, by design (the streams of a fold, a chunk's frames), not by
        # mistake: without TensorFlow's warning of "N out of the last M calls ... triggered tf.function retracing",
        # which a notebook vocoding inputs of a few lengths was shown
        traced._omit_frequent_tracing_warning = True  # (a TensorFlow that no longer reads it warns again)

        def call_tensorflow(*arguments):
            return traced(*(tf.constant(argument) if index in static else argument
                            for index, argument in enumerate(arguments)))

        return call_tensorflow
    import jax
    import keras

    variables = list(model.variables)

    def pure(values, arrays, statics):
        merged = list(arrays)
        for index, value in statics:
            merged[index] = value
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return function(*merged)

    traced = jax.jit(pure, static_argnums=2)

    def call_jax(*arguments):
        statics = tuple((index, int(arguments[index])) for index in static)
        arrays = [None if index in static else argument for index, argument in enumerate(arguments)]
        return traced([variable.value for variable in variables], arrays, statics)

    return call_jax


def one_tensorflow_device(strategy=None):
    """True on TensorFlow without a distribution strategy (``strategy`` None or the default one)."""
    if not is_tensorflow():
        return False
    import tensorflow as tf

    return strategy is None or strategy is tf.distribute.get_strategy()


def batch_pipeline(batches, first, count):
    """A ``tf.data`` pipeline of the ``count`` batches ``batches()`` yields (structures of arrays shaped as ``first``,
    one batch), in order, with tf.data's autotuning off and 2 batches made ahead (:func:`audiornn.keras_data.fit_input`:
    the end of an autotuned iterator waited for the autotuning thread)."""
    import tensorflow as tf

    spec = tf.nest.map_structure(lambda part: tf.TensorSpec((None, *part.shape[1:]), tf.as_dtype(part.dtype)), first)
    options = tf.data.Options()
    options.autotune.enabled = False
    return (tf.data.Dataset.from_generator(batches, output_signature=spec)
            .apply(tf.data.experimental.assert_cardinality(count)).with_options(options).prefetch(2))


CROWDED_MAPS_SHARE = 0.5  # of the kernel's vm.max_map_count, past which JAX's compiled programs are let go


def release_compiled_if_crowded(share=CROWDED_MAPS_SHARE):
    """On JAX, empty JAX's caches of compiled programs when the process holds more than ``share`` of the memory
    maps the kernel allows one (``/proc/sys/vm/max_map_count``, 65,530 by default); True when it did.

    XLA's programs stay in JAX's caches after the models that compiled them are gone, each holding memory maps
    of its code: a process that compiles hundreds (a notebook training model after model, vocoding inputs of
    many lengths, a test suite) reaches the limit, and XLA's next compilation crashes the process with a
    segmentation fault. Emptied, what is still in use compiles again when next called. TensorFlow's programs go
    with their functions; elsewhere than Linux there is nothing to read, and nothing is done. Once emptied, they
    are emptied again only after :data:`CROWDED_MAPS_GROWTH` of the limit more (maps held by something else, a
    memory-mapped dataset, would otherwise have each call compile everything again)."""
    import sys

    if "jax" not in sys.modules or is_tensorflow():  # (a process that never ran JAX: nothing to read, no import)
        return False
    held, limit = _memory_maps()
    after = _RELEASED["after"]
    if held is None or held <= share * limit or (after is not None and held < after + CROWDED_MAPS_GROWTH * limit):
        return False
    import jax

    jax.clear_caches()
    _RELEASED["after"] = _memory_maps()[0]
    logging.getLogger("audiornn").info("let go of JAX's compiled programs (this process held %d of the %d memory "
                                       "maps the system allows one; %d after): what is still used compiles again",
                                       held, limit, _RELEASED["after"])
    return True


CROWDED_MAPS_GROWTH = 0.1
_RELEASED = {"after": None}  # the memory maps held after the caches were last emptied (None: never)


def _memory_maps():
    """``(maps this process holds, the most the kernel allows one)``, or ``(None, None)`` where they cannot be
    read (not Linux)."""
    try:
        with open("/proc/sys/vm/max_map_count", "rb") as limit_file, open("/proc/self/maps", "rb") as maps_file:
            return maps_file.read().count(b"\n"), int(limit_file.read())
    except (OSError, ValueError):
        return None, None


def compiled_once(model, key, make, static=()):
    """``make()`` compiled (:func:`compiled`) the first time ``key`` is asked of ``model``, then the same
    compiled function: kept on the model (``model.compiled_loops``), it reads the model's current weights,
    and a new stream, file or epoch does not trace and compile it again (JAX's caches are emptied first
    where they crowd the process: :func:`release_compiled_if_crowded`)."""
    release_compiled_if_crowded()
    if key not in model.compiled_loops:
        model.compiled_loops[key] = compiled(make(), model, static=static)
    return model.compiled_loops[key]


def uniform(count, seed, position):
    """``count`` uniform numbers in [0, 1) drawn statelessly from ``(seed, position)`` (int64 tensors on
    TensorFlow, integer arrays on JAX). Each backend has its own generator: a seed gives the same audio
    every time on one backend, not the same audio on both."""
    if is_tensorflow():
        import tensorflow as tf

        return tf.random.stateless_uniform((count,), seed=tf.stack([seed, position]))
    import jax

    key = jax.random.fold_in(jax.random.key(seed), position)
    return jax.random.uniform(key, (count,))


def carry_variable(rows, size):
    """A zero ``(rows, size)`` float32 variable for the state carried from one training batch to the next."""
    if is_tensorflow():
        import tensorflow as tf

        return tf.Variable(tf.zeros((rows, int(size))), trainable=False,
                           synchronization=tf.VariableSynchronization.ON_READ,
                           aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    import keras

    return keras.Variable(np.zeros((rows, int(size)), "float32"), trainable=False, name="carried_state")


# -- where training runs -------------------------------------------------------------------------

DISTRIBUTE = ("auto", "mirrored", "multiworker", "none")


class JaxDevices:
    """Training on JAX in one process: ``keras.distribution.DataParallel`` over ``devices`` when there are
    several (each batch split across them, the variables, the carried state among them, whole on each),
    else plain. Answers the few questions training asks a ``tf.distribute`` strategy."""

    cluster_resolver = None
    num_replicas_in_sync = 1  # the carried state is whole: its rows are the whole batch's

    def __init__(self, devices, parallel):
        import keras

        self.devices = list(devices)
        self.data_parallel = keras.distribution.DataParallel(devices=self.devices) if parallel else None

    @property
    def shards(self):
        """How many parts each batch is split into (the batch size must be a multiple)."""
        return len(self.devices) if self.data_parallel else 1

    def scope(self):
        return self.data_parallel.scope() if self.data_parallel else contextlib.nullcontext()


def distribution(distribute="auto", *, worker_timeout=None, settings=None):
    """Where training runs, for ``distribute``: "auto", "mirrored", "multiworker" or "none".

    TensorFlow (a ``tf.distribute`` strategy): auto is MultiWorkerMirroredStrategy
    when TF_CONFIG is set, MirroredStrategy when more than one GPU is visible,
    else the default (one device); mirrored is MirroredStrategy over every GPU,
    or over every logical CPU device when there is no GPU (how the tests run
    it); multiworker is MultiWorkerMirroredStrategy over the workers TF_CONFIG
    names, once every one of them answers (:func:`audiornn.cluster.wait_for_workers`,
    at most ``worker_timeout`` seconds; ``settings`` describes what this worker
    was asked to do, and workers asked otherwise are refused).

    JAX (:class:`JaxDevices`): auto is data-parallel over the devices when more
    than one is visible; mirrored over every device; multiworker (and TF_CONFIG)
    are TensorFlow's and refused.
    """
    start_runtime_quietly()
    if distribute not in DISTRIBUTE:
        raise ParameterError(f"distribute must be 'auto', 'mirrored', 'multiworker' or 'none', got {distribute!r}")
    if not is_tensorflow():
        if distribute == "multiworker" or (distribute == "auto" and os.environ.get("TF_CONFIG")):
            raise ParameterError("training on several machines (--distribute multiworker, TF_CONFIG) is TensorFlow's "
                                 "MultiWorkerMirroredStrategy: run it with KERAS_BACKEND=tensorflow, or unset "
                                 "TF_CONFIG to train on this machine's devices with JAX")
        import jax

        found = jax.devices()
        if distribute == "mirrored":
            _say_one_device(found, found[0].platform == "cpu", "JAX's CPU is one device unless "
                            "XLA_FLAGS=--xla_force_host_platform_device_count=N splits it")
        return JaxDevices(found, parallel=distribute == "mirrored" or (distribute == "auto" and len(found) > 1))
    import tensorflow as tf

    from .cluster import WORKER_TIMEOUT, read_tf_config, settings_digest, wait_for_workers

    if distribute == "none":
        return tf.distribute.get_strategy()
    if distribute == "multiworker" and not os.environ.get("TF_CONFIG"):
        raise ParameterError("--distribute multiworker needs TF_CONFIG naming every worker and this one's index "
                             "(see the README's 'Several machines')")
    if distribute in ("auto", "multiworker") and os.environ.get("TF_CONFIG"):
        # Checked and met in Python first: TensorFlow's constructor waits for the others in C++,
        # silent and deaf to signals, and its errors for a bad TF_CONFIG are tracebacks.
        addresses, mine = read_tf_config()
        wait_for_workers(addresses, mine, timeout=worker_timeout or WORKER_TIMEOUT, digest=settings_digest(settings))
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if distribute == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    found = gpus or tf.config.list_logical_devices("CPU")
    _say_one_device([device.name for device in found], not gpus, "TensorFlow's CPU is one device unless "
                    "tf.config.set_logical_device_configuration splits it")
    return tf.distribute.MirroredStrategy(devices=[device.name for device in found])


def _say_one_device(found, cpu, split):
    """--distribute mirrored over one device trains as without it: said, not left for the user to find (with how
    to ``split`` a CPU into several)."""
    if len(found) == 1:
        logging.getLogger("audiornn").warning("--distribute mirrored: one device is visible (%s), so training runs "
                                              "on it alone, as without --distribute%s", found[0],
                                              f"; {split}" if cpu else "")


def is_multi_worker(strategy):
    """True for a MultiWorkerMirroredStrategy over more than one worker."""
    if not is_tensorflow():
        return False
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return sum(len(tasks) for tasks in cluster.values()) > 1


def in_multi_worker_replica():
    """True inside one replica's step of a MultiWorkerMirroredStrategy."""
    if not is_tensorflow():
        return False
    import tensorflow as tf

    return not tf.distribute.in_cross_replica_context() \
        and isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy)


def mean_across_workers(strategy, value):
    """The mean of each worker's float ``value`` (every worker calls it at the same point)."""
    import tensorflow as tf

    mine = strategy.run(lambda: tf.constant(value, tf.float32))
    return float(strategy.reduce("MEAN", mine, axis=None))


def lost_worker(error, strategy):
    """The other worker that a multi-worker failure names ("worker task 1"), "a worker", or None when
    ``error`` is not a lost connection.

    The message names devices of this worker too (where the failed operation ran): the lost one is
    the first task named that is not this one.
    """
    import re

    import tensorflow as tf

    if not isinstance(error, (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
                              tf.errors.CancelledError, tf.errors.InternalError)):
        return None
    resolver = strategy.cluster_resolver
    for job, task in re.findall(r"/job:(\w+)/(?:replica:\d+/)?task:(\d+)", str(error)):
        if (job, int(task)) != (resolver.task_type, resolver.task_id):
            return f"{job} task {task}"
    return "a worker"


def sync_training_state(model):
    """Make ``model``'s variables current in the middle of ``fit``, so a callback reads and sets them.

    JAX's ``fit`` holds the variables' values apart from the variables between
    the start and the end of an epoch (its steps are stateless); this puts
    them back, and the next step takes them, learning rate included, from the
    variables again. Nothing to do on TensorFlow.
    """
    if not is_tensorflow():
        model.jax_state_sync()

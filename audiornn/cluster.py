"""Several machines: ``TF_CONFIG`` checked before anything is written, and the workers met before TensorFlow.

TensorFlow's MultiWorkerMirroredStrategy blocks inside its constructor,
in C++, until every worker of ``TF_CONFIG`` has joined: a lone worker prints
nothing and no Python signal handler can run. So each worker first meets the
others here, in Python: it listens on its own ``TF_CONFIG`` port (which
TensorFlow takes over right after) and connects to every other worker's port
until all answer, saying whom it waits for, for at most ``timeout`` seconds;
Ctrl-C and SIGTERM end the wait at once. Each answers with a digest of its
settings (dataset, model and training options), so workers started with
different ones are refused instead of training one run on different data.
"""

import errno
import hashlib
import json
import logging
import os
import socket
import threading
import time

from .errors import ParameterError, RunError

__all__ = ["WORKER_TIMEOUT", "read_tf_config", "settings_digest", "wait_for_workers"]

logger = logging.getLogger("audiornn")
WORKER_TIMEOUT = 300.0  # seconds a worker waits for the others (--worker-timeout)


def _address(value, where):
    host, _, port = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ParameterError(f"TF_CONFIG: {where} is {value!r}, not an address HOST:PORT")
    return host.strip("[]"), int(port)


def read_tf_config(text=None):
    """``TF_CONFIG`` checked: ``(addresses, (job, index))``, every task's ``(host, port)`` by
    ``(job, index)``, and this process's own task. A one-line :class:`ParameterError` names what is wrong."""
    text = os.environ.get("TF_CONFIG", "") if text is None else text
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ParameterError(f"TF_CONFIG is not JSON ({error}): set it to "
                             f'{{"cluster": {{"worker": ["HOST:PORT", ...]}}, "task": {{"type": "worker", '
                             f'"index": N}}}}') from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not config["cluster"]:
        raise ParameterError(f"TF_CONFIG needs a \"cluster\" object naming each job's addresses, got {text[:100]!r}")
    addresses = {}
    for job, tasks in config["cluster"].items():
        if not isinstance(tasks, list) or not tasks:
            raise ParameterError(f"TF_CONFIG: cluster job {job!r} must be a list of HOST:PORT addresses, "
                                 f"got {tasks!r}")
        for index, value in enumerate(tasks):
            addresses[job, index] = _address(value, f"cluster {job} {index}")
    task = config.get("task")
    if not isinstance(task, dict) or task.get("type") not in config["cluster"]:
        raise ParameterError(f"TF_CONFIG needs a \"task\" naming this process's job (one of "
                             f"{sorted(config['cluster'])}) and index, got {task!r}")
    index, count = task.get("index"), len(config["cluster"][task["type"]])
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise ParameterError(f"TF_CONFIG: task index {index!r} is not one of the {count} {task['type']} "
                             f"addresses (0 to {count - 1})")
    return addresses, (task["type"], index)


def _listen(host, port):
    """Listen on this task's own address (all interfaces when its name is not one of this machine's)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        try:
            listener.bind((host, port))
        except OSError as error:
            if error.errno not in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) and not isinstance(error, socket.gaierror):
                raise
            listener.bind(("", port))
    except OSError as error:
        listener.close()
        raise ParameterError(f"TF_CONFIG: this worker's port {port} cannot be used ({error.strerror or error}): "
                             f"another program holds it; free it or give this worker another port") from None
    listener.listen(64)
    listener.settimeout(0.2)
    return listener


def _greet(listener, digest, stop):
    """Answer every other worker's probe at once with this worker's settings digest, until ``stop``."""
    while not stop.is_set():
        try:
            connection = listener.accept()[0]
        except TimeoutError:
            continue
        except OSError:
            return
        try:
            connection.sendall(GREETING + digest.encode() + b"\n")
        except OSError:
            pass
        connection.close()


GREETING = b"audiornn-worker "


def settings_digest(settings):
    """A short digest of a JSON-able description of what a worker was asked to do."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _answers(host, port):
    """What answers at ``host:port``: None when nothing does (yet), the settings digest a waiting worker
    greets with, or "" for a worker already inside TensorFlow (its gRPC server speaks first, with HTTP/2's
    settings frame). Silence is "not yet", never "ready": a waiting worker slow to greet is not mistaken
    for one that has met the others."""
    try:
        with socket.create_connection((host, port), timeout=2.0) as connection:
            received = connection.recv(len(GREETING) + 64)
    except OSError:
        return None
    if not received:
        return None
    return received[len(GREETING):].decode(errors="replace").strip() if received.startswith(GREETING) else ""


def wait_for_workers(addresses, mine, *, timeout=WORKER_TIMEOUT, digest="", report_every=10.0):
    """Listen on this task's port and wait until every other task's port answers (see the module);
    a worker that greets with another settings ``digest`` is refused."""
    if len(addresses) < 2:
        return
    listener = _listen(*addresses[mine])
    stop = threading.Event()
    greeter = threading.Thread(target=_greet, args=(listener, digest, stop), name="audiornn-greeter", daemon=True)
    greeter.start()
    started, reported = time.monotonic(), None
    waiting = {task: address for task, address in addresses.items() if task != mine}
    try:
        while waiting:
            for task, address in list(waiting.items()):
                answer = _answers(*address)
                if answer and answer != digest:
                    raise ParameterError(f"{task[0]} {task[1]} at {address[0]}:{address[1]} was started with other "
                                         f"settings (dataset, model or training options) than this one: start "
                                         f"every worker with the same command; nothing was written")
                if answer is not None:
                    del waiting[task]
            elapsed = time.monotonic() - started
            if not waiting:
                break
            names = ", ".join(f"{job} {index} at {host}:{port}"
                              for (job, index), (host, port) in sorted(waiting.items()))
            if elapsed >= timeout:
                raise RunError(f"{names} did not join within {timeout:g} s: start every worker with the same "
                               f"TF_CONFIG (its own task index), or give --worker-timeout more seconds; nothing "
                               f"was written")
            if reported is None or elapsed - reported >= report_every:
                logger.warning("waiting for %s (%.0f s of %g s; Ctrl-C stops)", names, elapsed, timeout)
                reported = elapsed
            time.sleep(0.2)
    finally:
        stop.set()
        greeter.join(timeout=2.0)
        listener.close()
    logger.info("every worker of TF_CONFIG answers: starting the cluster")

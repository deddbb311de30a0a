"""Process-level TensorFlow settings: thread pools, GPU memory growth, a quiet import.

Importing keraskit changes nothing in TensorFlow. Settings are applied only when the user
calls :func:`configure`, with one automatic exception: in a worker process whose share of
the cores is set by its parallel engine (joblib's loky workers and Dask workers set
``OMP_NUM_THREADS`` to it), TensorFlow's thread pools are capped to that share when keraskit
first starts TensorFlow, so that ``n_jobs`` workers do not each run one thread per core.

Both settings work through TensorFlow's own environment variables (``TF_NUM_INTRAOP_THREADS``,
``TF_NUM_INTEROP_THREADS``, ``TF_FORCE_GPU_ALLOW_GROWTH``), which TensorFlow reads when its
runtime starts: they apply in this process if TensorFlow has not started yet, and in every
process started afterwards (joblib and Dask workers included).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from numbers import Integral

_THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
_GROWTH_VAR = "TF_FORCE_GPU_ALLOW_GROWTH"
#: Set by parallel engines in their workers to the worker's share of the cores.
_SHARE_VAR = "OMP_NUM_THREADS"

_state = {"explicit_threads": False, "checked": False}


def _positive_int(name):
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _set_tf_threads(threads):
    """Apply ``threads`` to a TensorFlow already imported; raises if its runtime started."""
    # configure() and before_tensorflow() apply settings; importing keraskit must not import TF
    tf, _ = import_tensorflow()

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def _export_threads(threads):
    """Pass the pool sizes to TensorFlow's runtime here and in processes started later."""
    for name in _THREAD_VARS:
        os.environ[name] = str(threads)


def _set_tf_memory_growth(enabled):
    # as in _set_tf_threads
    tf, _ = import_tensorflow()

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, enabled)


def configure(threads=None, gpu_memory_growth=None):
    """Set process-level TensorFlow options; call it before the first fit or predict.

    Nothing in keraskit changes TensorFlow's process-wide state unless this is called
    (no determinism switch, no memory settings). Each setting applies to this process and
    is inherited by the processes it starts afterwards (joblib's loky workers, a Dask
    ``LocalCluster``...), because it is passed through TensorFlow's own environment
    variables. Inside a worker, keraskit still caps the threads to the worker's share of the
    cores (``OMP_NUM_THREADS``, set by joblib and Dask), unless ``configure`` is called in
    the worker itself.

    Parameters
    ----------
    threads : int or None, default=None
        Size of TensorFlow's intra-op and inter-op thread pools (``TF_NUM_INTRAOP_THREADS``
        and ``TF_NUM_INTEROP_THREADS``). ``None`` leaves them as they are (TensorFlow's
        default is one thread per core).
    gpu_memory_growth : bool or None, default=None
        ``True`` makes TensorFlow allocate GPU memory as it needs it instead of reserving
        almost all of it at start (``TF_FORCE_GPU_ALLOW_GROWTH``), so that several
        processes (the workers of a parallel search) can share one GPU. ``None`` leaves it
        as it is. No effect on machines without a GPU.

    Returns
    -------
    config : dict
        The settings now in force, as :func:`get_config` gives them.

    Raises
    ------
    RuntimeError
        If TensorFlow has already started in this process with other settings (they
        cannot change after its runtime starts); the environment is left unchanged then.
    """
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, Integral) or threads < 1
    ):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}.")
    if gpu_memory_growth is not None and not isinstance(gpu_memory_growth, bool):
        raise TypeError(
            f"gpu_memory_growth must be True, False or None, got {gpu_memory_growth!r}."
        )
    try:  # importing TensorFlow does not start it; setting these after it started fails
        if threads is not None:
            _set_tf_threads(int(threads))
        if gpu_memory_growth is not None:
            _set_tf_memory_growth(gpu_memory_growth)
    except RuntimeError as exc:
        raise RuntimeError(
            "keraskit.configure must be called before TensorFlow starts in this process "
            "(before the first fit, predict or TensorFlow operation), for example at the top "
            f"of the script; TensorFlow said: {exc}"
        ) from None
    if threads is not None:
        _export_threads(int(threads))
        _state["explicit_threads"] = True
    if gpu_memory_growth is not None:
        os.environ[_GROWTH_VAR] = "true" if gpu_memory_growth else "false"
    return get_config()


def get_config():
    """The process-level settings keraskit knows of.

    Returns
    -------
    config : dict
        ``threads``: TensorFlow's intra-op pool size if set (by :func:`configure`, the
        environment or a worker's share), else ``None`` (one per core);
        ``gpu_memory_growth``: ``True``/``False`` if set, else ``None``.
    """
    threads = _positive_int(_THREAD_VARS[0])
    if "tensorflow" in sys.modules:
        # already imported: reading its settings costs nothing and starts nothing
        import tensorflow as tf

        threads = tf.config.threading.get_intra_op_parallelism_threads() or threads
    growth = os.environ.get(_GROWTH_VAR)
    return {
        "threads": threads,
        "gpu_memory_growth": None if growth is None else growth.strip().lower() == "true",
    }


def before_tensorflow():
    """Cap TensorFlow's threads to a worker's share; keraskit calls this before using TF.

    Runs once per process. In a process with ``OMP_NUM_THREADS`` set (a joblib or Dask
    worker, or a user's own limit) and no :func:`configure` call of its own, TensorFlow's
    pools get at most that many threads. If TensorFlow already started (the user's code
    ran TensorFlow first), or its pools were set with ``tf.config.threading``, its settings
    are left alone.
    """
    if _state["checked"]:
        return
    _state["checked"] = True
    share = _positive_int(_SHARE_VAR)
    if share is None or _state["explicit_threads"]:
        return
    current = [_positive_int(name) for name in _THREAD_VARS]
    if all(n is not None and n <= share for n in current):
        return
    if "tensorflow" in sys.modules:
        # already imported (by the user's code); this only reads and sets its pools
        import tensorflow as tf

        if tf.config.threading.get_intra_op_parallelism_threads():
            return  # the user's own tf.config.threading setting
        try:
            _set_tf_threads(share)
        except RuntimeError:
            return  # the runtime is already running with the user's settings
    _export_threads(share)


#: An absl log line as TensorFlow's C++ code writes it before logging is set up:
#: severity letter, date, time, thread, source location (``I0000 00:00:17.. 93 port.cc:153]``).
_ABSL_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:[\d.]+\s+\d+ \S+:\d+\] ")
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called"
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
#: A line Python's ``warnings`` module writes: ``path:line: Category: message``.
_PYTHON_WARNING = re.compile(r"^\S.*:\d+: \w+: ")


def _shown(severity):
    """Whether a start-up line of this absl severity reaches the terminal.

    ``TF_CPP_MIN_LOG_LEVEL`` decides as TensorFlow's logging does once it is set up (its
    start-up lines ignore it); unset, informational lines are hidden and warnings and
    errors shown. Fatal lines are always shown.
    """
    level = _positive_int("TF_CPP_MIN_LOG_LEVEL")
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() == "0":
        level = 0
    threshold = 1 if level is None else level
    return _SEVERITY[severity] >= min(threshold, 3)


def filter_startup_lines(text):
    """Text written to stderr while TensorFlow loads, without its start-up chatter.

    Dropped: absl lines below the severity ``TF_CPP_MIN_LOG_LEVEL`` asks for (see
    :func:`_shown`) with their continuation lines (a message of several lines), and
    absl's "All log messages before absl::InitializeLog()" notice when nothing it
    announces is kept. Everything else (Python warnings, a library's own messages) is
    kept, in order.

    Parameters
    ----------
    text : str
        What the process wrote to stderr while TensorFlow was imported.

    Returns
    -------
    kept : str
        The lines to show, with their line ends.
    """
    kept, preamble, dropping = [], None, False
    for line in text.splitlines(keepends=True):
        if line.startswith(_ABSL_PREAMBLE):
            preamble, dropping = line, False
            continue
        match = _ABSL_LINE.match(line)
        if match is None and dropping and not _PYTHON_WARNING.match(line):
            continue  # the rest of a dropped message
        dropping = match is not None and not _shown(match.group(1))
        if dropping:
            continue
        if match and preamble is not None:
            kept.append(preamble)
        preamble = None
        kept.append(line)
    return "".join(kept)


def import_tensorflow():
    """Import TensorFlow and Keras once, keeping TensorFlow's start-up chatter off stderr.

    TensorFlow's C++ libraries write lines such as "Could not find cuda drivers" and
    "oneDNN custom operations are on" to the process's stderr while they load, before
    ``TF_CPP_MIN_LOG_LEVEL`` is read. keraskit imports TensorFlow with stderr (the file
    descriptor) sent to a temporary file, then writes back what :func:`filter_startup_lines`
    keeps. Python's logging, ``warnings`` filters and TensorFlow's log level are not
    touched. If TensorFlow is already imported (by the user's code), nothing happens.

    Returns
    -------
    tf, keras : module
    """
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"], sys.modules["keras"]
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to protect (a closed descriptor 2)
        # importing keraskit must not import TensorFlow: this function is its only door
        import keras
        import tensorflow as tf

        return tf, keras
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        try:
            os.dup2(captured.fileno(), 2)
            # importing keraskit must not import TensorFlow: this function is its only door
            import keras
            import tensorflow as tf
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        text = captured.read().decode("utf-8", errors="replace")
    kept = filter_startup_lines(text)
    if kept:
        sys.stderr.write(kept)
    return tf, keras

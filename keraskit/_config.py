"""Process-level TensorFlow settings: thread pools, GPU memory growth, a quiet import.

Importing keraskit changes nothing in TensorFlow. Settings are applied only when the user
calls :func:`configure`, with two automatic exceptions, both in worker processes of a
parallel engine and both applied when keraskit first starts TensorFlow there: a worker
whose share of the cores is set by its engine (joblib's loky workers and Dask workers set
``OMP_NUM_THREADS`` to it) caps TensorFlow's thread pools to that share, so that ``n_jobs``
workers do not each run one thread per core; and on a machine with several GPUs, each worker
takes one GPU, the workers spread over them (``worker_gpus``).

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

#: keraskit's own variable: whether workers take one GPU each (``configure(worker_gpus=)``).
_WORKER_GPUS_VAR = "KERASKIT_WORKER_GPUS"
WORKER_GPUS = ("spread", "all")

_state = {"explicit_threads": False, "checked": False, "gpu_locks": []}


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


def configure(threads=None, gpu_memory_growth=None, worker_gpus=None):
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
    worker_gpus : {'spread', 'all'} or None, default=None
        What a worker process of a parallel engine (joblib's loky or multiprocessing
        workers, Dask's, Ray's) sees on a machine with several GPUs: ``'spread'`` (the
        default) makes each worker take one GPU, the first with the fewest workers on it,
        so that workers spread over the GPUs; ``'all'`` lets every worker see every GPU.
        Set it in the process that starts the workers (they inherit it). Workers whose
        engine already chose their GPUs (``CUDA_VISIBLE_DEVICES`` set, as Ray does) keep
        them. ``None`` leaves it as it is.

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
    if worker_gpus is not None and worker_gpus not in WORKER_GPUS:
        raise ValueError(f"worker_gpus must be 'spread', 'all' or None, got {worker_gpus!r}.")
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
    if worker_gpus is not None:
        os.environ[_WORKER_GPUS_VAR] = worker_gpus
    return get_config()


def get_config():
    """The process-level settings keraskit knows of.

    Returns
    -------
    config : dict
        ``threads``: TensorFlow's intra-op pool size if set (by :func:`configure`, the
        environment or a worker's share), else ``None`` (one per core);
        ``gpu_memory_growth``: ``True``/``False`` if set, else ``None``;
        ``worker_gpus``: ``'spread'`` or ``'all'``.
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
        "worker_gpus": _worker_gpus(),
    }


def _worker_gpus():
    value = os.environ.get(_WORKER_GPUS_VAR, "spread").strip().lower()
    return value if value in WORKER_GPUS else "spread"


def worker_share():
    """This process's share of the cores: ``OMP_NUM_THREADS`` in a worker, else all of them.

    Returns
    -------
    share : int
    """
    return _positive_int(_SHARE_VAR) or os.cpu_count() or 1


def in_worker():
    """Whether this process is a worker of a parallel engine.

    A child process of ``multiprocessing`` (joblib's loky and multiprocessing workers,
    Dask's workers started by their nanny) or a Ray worker.

    Returns
    -------
    worker : bool
    """
    import multiprocessing  # a standard module, imported only when TensorFlow starts

    if multiprocessing.parent_process() is not None:
        return True
    ray = sys.modules.get("ray")  # a Ray worker has imported Ray before running a task
    if ray is None:
        return False
    try:  # (asking an uninitialized Ray for its context would start Ray here)
        return ray.is_initialized() and ray.get_runtime_context().worker.mode == ray.WORKER_MODE
    except Exception:  # a Ray without these names
        return False


def claim_gpu_slot(n_gpus, lock_dir=None):
    """The GPU this worker takes: the first with the fewest workers, machine-wide.

    Each worker holds an exclusive lock on one slot file (``keraskit-<uid>-gpu<i>-<k>.lock``
    in the temporary directory) for its lifetime; slots fill GPU by GPU, round by round, so
    ``n`` workers on ``g`` GPUs spread evenly. Locks end with their process, so a worker
    started later takes the slot a finished one left.

    Parameters
    ----------
    n_gpus : int
        GPUs on the machine.
    lock_dir : str, default=None
        Where the slot files live (default: the temporary directory).

    Returns
    -------
    gpu : int
        The GPU's index.
    """
    try:
        import fcntl  # POSIX only
    except ImportError:  # no file locks: spread by process id
        return os.getpid() % n_gpus
    lock_dir = lock_dir or tempfile.gettempdir()
    user = os.getuid() if hasattr(os, "getuid") else 0  # other users' workers: other files
    for k in range(1024):
        for i in range(n_gpus):
            path = os.path.join(lock_dir, f"keraskit-{user}-gpu{i}-{k}.lock")
            try:
                fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
            except OSError:  # a file this process may not open: the slot is not ours
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            _state["gpu_locks"].append(fd)  # held while this process lives
            return i
    return os.getpid() % n_gpus


#: glibc's ``mallopt`` parameters, and what a worker sets them to (bytes).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
WORKER_MALLOC = {_M_MMAP_THRESHOLD: 16 << 20, _M_TRIM_THRESHOLD: 32 << 20}


def _keep_freed_memory():
    """In a worker, let glibc keep up to 32 MiB of freed memory instead of unmapping it.

    Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes glibc's
    mmap threshold at 128 KiB: every TensorFlow buffer above it is mapped and unmapped at
    each step, and training spends its time in page faults (measured 2.3x slower on a
    fused digits search). glibc's defaults do better, and these thresholds better still
    (0.75x of the defaults' time). Only glibc, only workers: the user's own process keeps
    its allocator as it is.

    Returns
    -------
    set : bool
        Whether the thresholds were set.
    """
    # standard modules, imported only when TensorFlow starts in a worker
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(name)
        return all(libc.mallopt(param, value) == 1 for param, value in WORKER_MALLOC.items())
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


def _take_one_gpu():
    """In a worker on a machine with several GPUs, see only the one it claims."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None or _worker_gpus() != "spread":
        return
    tf, _ = import_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) < 2:
        return
    try:
        tf.config.set_visible_devices([gpus[claim_gpu_slot(len(gpus))]], "GPU")
    except RuntimeError:
        return  # TensorFlow already started in this worker (the user's code ran it)


def before_tensorflow():
    """A worker's settings (its GPU, its threads); keraskit calls this before using TF.

    Runs once per process. In a worker on a machine with several GPUs, the worker takes
    one of them (see ``configure``'s ``worker_gpus`` and :func:`claim_gpu_slot`). In a
    process with ``OMP_NUM_THREADS`` set (a joblib or Dask worker, or a user's own limit)
    and no :func:`configure` call of its own, TensorFlow's pools get at most that many
    threads. If TensorFlow already started (the user's code
    ran TensorFlow first), or its pools were set with ``tf.config.threading``, its settings
    are left alone.
    """
    if _state["checked"]:
        return
    _state["checked"] = True
    if in_worker():
        _keep_freed_memory()
        _take_one_gpu()
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

"""Backend glue run once per training call: threads, GPU memory growth, precision, determinism.

Model code stays backend-neutral; only this module touches TensorFlow (when it is the backend).

Determinism: with ``LENS_SEARCH_DETERMINISTIC=1`` in the environment, TensorFlow's ops run
deterministically on a CPU (bit-identical reruns, e.g. for an exact-resume test). It is off by
default: it also turns off XLA under Keras' ``jit_compile="auto"``, and see ``bench/RESULTS.md``
for what it costs per epoch.

Threads: ``set_threads(n)`` gives TensorFlow ``n`` intra-op and ``n`` inter-op threads; the Tune
wrapper calls it with the trial's ``--cpus-per-trial`` before any op runs, so two trials on two
cores do not each start a pool of two busy threads.

Precision: float32 on the CPU; on a GPU ``mixed_bfloat16`` (compute capability >= 8.0) or
``mixed_float16``. The environment variable ``LENS_SEARCH_PRECISION`` (``float32``,
``mixed_bfloat16``, ``mixed_float16``) overrides the choice, e.g. to try bfloat16 on a CPU with AMX.
"""

from __future__ import annotations

import os

import keras

from lens_search.errors import LensSearchError

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
DETERMINISTIC_ENV = "LENS_SEARCH_DETERMINISTIC"


def deterministic() -> bool:
    """Whether ``LENS_SEARCH_DETERMINISTIC`` asks for deterministic ops (any value but 0/empty)."""
    return os.environ.get(DETERMINISTIC_ENV, "").strip() not in ("", "0")


def set_threads(threads: int) -> bool:
    """Give the backend ``threads`` intra-op and inter-op threads; False if it is too late.

    TensorFlow fixes its thread pools when its runtime starts: a reused Ray actor keeps the
    pools of its first trial (same size: the trials of a search share ``--cpus-per-trial``).
    """
    if threads < 1:
        raise LensSearchError(f"threads must be >= 1, got {threads}")
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # the runtime has started: its pools stay as they are
        return False
    return True


def gpu_count() -> int:
    """Number of GPUs the backend sees (TensorFlow only; other backends report 0)."""
    if keras.backend.backend() != "tensorflow":
        return 0
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def _gpu_precision() -> str:
    import tensorflow as tf

    details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
    capability = details.get("compute_capability") or (0, 0)
    return "mixed_bfloat16" if tuple(capability) >= (8, 0) else "mixed_float16"


def choose_precision() -> str:
    """The dtype policy name for this machine (see module docstring)."""
    wanted = os.environ.get("LENS_SEARCH_PRECISION", "").strip()
    if wanted:
        if wanted not in PRECISIONS:
            raise LensSearchError(
                f"LENS_SEARCH_PRECISION={wanted!r} is not one of {', '.join(PRECISIONS)}"
            )
        return wanted
    return _gpu_precision() if gpu_count() else "float32"


def prepare_backend(seed: int) -> str:
    """Set up the backend for one training call and return the precision policy in use.

    Turns on GPU memory growth (several trials may share a GPU), makes CPU ops deterministic
    if ``LENS_SEARCH_DETERMINISTIC`` asks for it (module docstring), clears Keras' graph state
    (a reused Ray actor builds a fresh model) and seeds every RNG.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # the runtime is already initialised: growth was set before
                pass
        if not gpus and deterministic():
            tf.config.experimental.enable_op_determinism()
    precision = choose_precision()
    keras.mixed_precision.set_global_policy(precision)
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    return precision


def clear_models() -> None:
    """Free the models built so far (Keras' global state), as between two trials."""
    keras.backend.clear_session()

"""Backend glue run once per training call: GPU memory growth, precision, determinism, seeds.

Model code stays backend-neutral; only this module touches TensorFlow (when it is the backend).

Precision: float32 on the CPU; on a GPU ``mixed_bfloat16`` (compute capability >= 8.0) or
``mixed_float16``. The environment variable ``LENS_SEARCH_PRECISION`` (``float32``,
``mixed_bfloat16``, ``mixed_float16``) overrides the choice, e.g. to try bfloat16 on a CPU with AMX.
"""

from __future__ import annotations

import os

import keras

from lensing.errors import LensSearchError

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


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

    Turns on GPU memory growth (several trials may share a GPU), makes CPU ops deterministic,
    clears Keras' graph state (a reused Ray actor builds a fresh model) and seeds every RNG.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # the runtime is already initialised: growth was set before
                pass
        if not gpus:
            tf.config.experimental.enable_op_determinism()
    precision = choose_precision()
    keras.mixed_precision.set_global_policy(precision)
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    return precision

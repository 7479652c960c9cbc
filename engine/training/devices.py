"""Where training runs, for any Keras backend (TensorFlow, JAX, PyTorch): which device, how many
of them, how many CPU threads, and data parallelism over several accelerators.

Nothing here is needed for generation, which runs on NumPy.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Device:
    backend: str  # keras.config.backend(): "tensorflow", "jax" or "torch"
    platform: str  # "cpu", "gpu" or "tpu"
    names: tuple[str, ...]  # one per device the backend lists (usually a single "CPU" on a CPU)

    @property
    def replicas(self) -> int:
        """How many copies of the model train side by side (data parallel): one per device."""
        return len(self.names)

    @property
    def description(self) -> str:
        """For people: "GPU: NVIDIA H100 · jax", "2 GPUs: NVIDIA H100 ×2 · tensorflow", ..."""
        if self.platform == "cpu":
            split = f", as {self.replicas} devices" if self.replicas > 1 else ""
            what = f"CPU ({cpu_cores()} of {os.cpu_count()} cores{split})"
        elif self.replicas == 1:
            what = f"{self.platform.upper()}: {self.names[0]}"
        else:
            kinds = ", ".join(f"{n} ×{self.names.count(n)}" for n in dict.fromkeys(self.names))
            what = f"{len(self.names)} {self.platform.upper()}s: {kinds}"
        return f"{what} · {self.backend}"


def cpu_cores() -> int:
    """The CPU cores this process may use (all of them unless limit_threads restricted it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def detect_device() -> Device:
    """The accelerators Keras's backend sees (all of one kind), else the CPU. JAX lists several
    CPU devices when told to (XLA_FLAGS=--xla_force_host_platform_device_count=N)."""
    import keras

    backend = keras.config.backend()
    if backend == "torch":  # no keras.distribution for PyTorch: Keras uses one device (its choice)
        import torch
        from keras.src.backend.torch.core import get_device

        kind = str(get_device()).split(":")[0]  # "cuda", "mps", "xpu" or "cpu"
        if kind == "cpu":
            return Device(backend, "cpu", ("CPU",))
        name = torch.cuda.get_device_name() if kind == "cuda" else kind.upper()
        return Device(backend, "gpu", (name,))
    devices = keras.distribution.list_devices()  # accelerators when there are any, else CPUs
    platform = devices[0].split(":")[0]
    if platform == "cpu":
        return Device(backend, "cpu", ("CPU",) * len(devices))
    if backend == "jax":
        import jax

        return Device(backend, platform, tuple(d.device_kind for d in jax.devices(platform)))
    import tensorflow as tf

    found = tf.config.list_physical_devices(platform.upper())
    names = [tf.config.experimental.get_device_details(d).get("device_name", d.name) for d in found]
    return Device(backend, platform, tuple(names))


def data_parallel(device: Device):
    """With several devices, what splits each batch across all of them (None otherwise): build,
    compile and fit the model in its ``scope()``. keras.distribution.DataParallel on JAX;
    tf.distribute.MirroredStrategy on TensorFlow, where keras.distribution is not implemented yet.
    (PyTorch gets one device from detect_device: Keras has no single-process data parallelism
    for it.)"""
    if device.replicas == 1:
        return None
    if device.backend == "jax":
        import keras

        devices = keras.distribution.list_devices(device.platform)
        return keras.distribution.DataParallel(devices=devices)
    import tensorflow as tf

    return tf.distribute.MirroredStrategy()


def limit_threads(threads: int) -> None:
    """Train on at most ``threads`` CPU cores. Call it before training starts.

    On Linux the process is pinned to that many cores, which every backend's thread pools follow;
    TensorFlow and PyTorch are also told the number. Elsewhere JAX has no such setting (ValueError).
    """
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])
    import keras

    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)
    elif not hasattr(os, "sched_setaffinity"):
        raise ValueError("--threads needs Linux on the JAX backend (XLA has no thread setting)")

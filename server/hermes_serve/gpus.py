"""The GPUs ``plan`` knows: memory as the driver reports it, bandwidth, FP8 support.

Memory is the total ``nvidia-smi`` shows (what CUDA can allocate from), not the marketing
figure: an "80 GB" H100 reports 81,559 MiB. Bandwidth is the datasheet peak of the SXM
part; decode at batch 1 cannot beat weight bytes divided by it.
"""

from __future__ import annotations

import attrs

MIB = 1024 * 1024
GIB = 1024 * MIB


class GpuError(ValueError):
    """An unknown GPU name."""


@attrs.frozen
class Gpu:
    """One GPU model."""

    name: str
    memory_bytes: int
    bandwidth_bytes_s: float
    """Peak HBM bandwidth, bytes per second."""
    fp8: bool
    """Hopper and later run FP8 GEMMs and FP8 KV cache; Ampere does not."""
    per_node: int = 8
    """GPUs joined by NVLink in one server (TP beyond this crosses the network)."""


GPUS: dict[str, Gpu] = {
    "h100-80gb": Gpu("h100-80gb", 81559 * MIB, 3.35e12, fp8=True),
    "h200-141gb": Gpu("h200-141gb", 143771 * MIB, 4.8e12, fp8=True),
    "b200-180gb": Gpu("b200-180gb", 183359 * MIB, 8.0e12, fp8=True),
    "a100-80gb": Gpu("a100-80gb", 81920 * MIB, 2.039e12, fp8=False),
    "l40s-48gb": Gpu("l40s-48gb", 46068 * MIB, 0.864e12, fp8=True),
}


def known_gpu(name: str) -> Gpu:
    """The GPU called ``name`` (case-insensitive; ``h100`` works for ``h100-80gb``)."""
    key = name.lower()
    if key in GPUS:
        return GPUS[key]
    matches = [gpu for gpu_name, gpu in GPUS.items() if gpu_name.split("-")[0] == key]
    if len(matches) == 1:
        return matches[0]
    raise GpuError(f"unknown GPU {name!r}; known: {', '.join(GPUS)}")

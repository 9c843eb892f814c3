"""The GPUs ``plan`` knows: memory as the driver reports it, bandwidth, FP8 support.

Memory is the total ``nvidia-smi`` shows (what CUDA can allocate from), not the marketing
figure: an "80 GB" H100 reports 81,559 MiB. Bandwidth is the datasheet peak of the SXM
part; decode at batch 1 cannot beat weight bytes divided by it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

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


# nvidia-smi names, e.g. "NVIDIA H100 80GB HBM3", "NVIDIA H200", "NVIDIA A100-SXM4-80GB".
_NAME_HINTS = (("H200", "h200-141gb"), ("H100", "h100-80gb"), ("B200", "b200-180gb"),
               ("A100", "a100-80gb"), ("L40S", "l40s-48gb"))  # fmt: skip


def parse_nvidia_smi(text: str, visible: str | None = None) -> tuple[Gpu | None, int]:
    """The GPU model and count from ``nvidia-smi --query-gpu=name --format=csv,noheader``.

    ``visible`` is ``$CUDA_VISIBLE_DEVICES``: when set, only those GPUs count. The model is
    None when the first GPU is not one ``plan`` knows.
    """
    names = [line.split(",")[0].strip() for line in text.splitlines() if line.strip()]
    if visible is not None:
        wanted = [v.strip() for v in visible.split(",") if v.strip()]
        names = [n for i, n in enumerate(names) if str(i) in wanted] if wanted else []
    if not names:
        return None, 0
    gpu = next((GPUS[key] for hint, key in _NAME_HINTS if hint in names[0].upper()), None)
    return gpu, len(names)


def detect() -> tuple[Gpu | None, int]:
    """The GPUs of this machine, through ``nvidia-smi``; ``(None, 0)`` where there is none."""
    if shutil.which("nvidia-smi") is None:
        return None, 0
    try:
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None, 0
    if result.returncode != 0:
        return None, 0
    return parse_nvidia_smi(result.stdout, os.environ.get("CUDA_VISIBLE_DEVICES"))

"""Shapes of the Hermes 4 models, and how to read them from a checkpoint's ``config.json``.

Everything ``plan`` says follows from a handful of numbers: layers, hidden size, attention
and KV heads, head size, vocabulary and MLP width. The built-in table holds the published
shapes of the bases (Hermes 4 405B and 70B are Llama-3.1 405B and 70B; 14B is Qwen3-14B);
a checkpoint directory overrides them with its own ``config.json`` (Hugging Face layout, or
the ``pretrained_config`` of a TensorRT-LLM engine).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs


class ModelError(ValueError):
    """A model name or checkpoint that cannot be used; the message says why."""


@attrs.frozen
class ModelShape:
    """The architecture numbers that decide memory and parallelism."""

    name: str
    """Short name, e.g. ``hermes-4-70b``."""
    family: str
    """``llama`` or ``qwen3``: picks the checkpoint converter and the chat format."""
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    intermediate_size: int
    max_context: int
    """Longest sequence the model was trained for (``max_position_embeddings``)."""
    tied_embeddings: bool = False
    qk_norm: bool = False
    """Qwen3 normalises queries and keys per head (two tiny extra weights per layer)."""
    hf_id: str = ""
    """Where the weights are published."""

    def parameter_groups(self) -> dict[str, int]:
        """Parameter counts by kind: ``linear`` (quantizable), ``embedding`` and ``norm``."""
        h, d = self.hidden_size, self.head_dim
        attention = h * self.attention_heads * d * 2 + h * self.kv_heads * d * 2  # q, o + k, v
        mlp = 3 * h * self.intermediate_size  # gate, up, down
        norms_per_layer = 2 * h + (2 * d if self.qk_norm else 0)
        embedding = self.vocab_size * h * (1 if self.tied_embeddings else 2)  # + lm_head
        return {
            "linear": self.layers * (attention + mlp),
            "embedding": embedding,
            "norm": self.layers * norms_per_layer + h,
        }

    @property
    def parameters(self) -> int:
        return sum(self.parameter_groups().values())

    def kv_bytes_per_token(self, kv_dtype_bytes: int) -> int:
        """Bytes of K and V cache one token occupies across all layers."""
        return 2 * self.layers * self.kv_heads * self.head_dim * kv_dtype_bytes

    def weight_bytes(self, dtype: str) -> int:
        """Bytes of weights in ``bf16`` or ``fp8``.

        FP8 (ModelOpt's recipe) quantizes the linear layers only; embeddings, the output
        head and the norms stay in BF16, which is why 405B in FP8 is ~410 GB, not 405.
        """
        groups = self.parameter_groups()
        if dtype == "bf16":
            return 2 * self.parameters
        if dtype == "fp8":
            return groups["linear"] + 2 * (groups["embedding"] + groups["norm"])
        raise ModelError(f"unknown dtype {dtype!r}; use bf16 or fp8")


# Published configs: meta-llama/Llama-3.1-405B and -70B, Qwen/Qwen3-14B (the Hermes 4
# checkpoints keep their base's shapes).
HERMES_4: dict[str, ModelShape] = {
    "hermes-4-405b": ModelShape(
        name="hermes-4-405b", family="llama", layers=126, hidden_size=16384, attention_heads=128,
        kv_heads=8, head_dim=128, vocab_size=128256, intermediate_size=53248, max_context=131072,
        hf_id="NousResearch/Hermes-4-405B",
    ),
    "hermes-4-70b": ModelShape(
        name="hermes-4-70b", family="llama", layers=80, hidden_size=8192, attention_heads=64,
        kv_heads=8, head_dim=128, vocab_size=128256, intermediate_size=28672, max_context=131072,
        hf_id="NousResearch/Hermes-4-70B",
    ),
    "hermes-4-14b": ModelShape(
        name="hermes-4-14b", family="qwen3", layers=40, hidden_size=5120, attention_heads=40,
        kv_heads=8, head_dim=128, vocab_size=151936, intermediate_size=17408, max_context=40960,
        qk_norm=True, hf_id="NousResearch/Hermes-4-14B",
    ),
}  # fmt: skip


def known_model(name: str) -> ModelShape:
    """The built-in shape for ``name`` (case-insensitive; ``14b`` is short for ``hermes-4-14b``),
    or a clear error."""
    shape = HERMES_4.get(name.lower()) or HERMES_4.get(f"hermes-4-{name.lower()}")
    if shape is None:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(HERMES_4)} (or give a checkpoint path)")
    return shape


def _family(config: dict[str, Any]) -> str:
    model_type = str(config.get("model_type", "")).lower()
    architecture = " ".join(config.get("architectures") or [str(config.get("architecture", ""))]).lower()
    if "qwen3" in model_type or "qwen3" in architecture:
        return "qwen3"
    if "llama" in model_type or "llama" in architecture:
        return "llama"
    raise ModelError(
        f"unsupported architecture {config.get('architectures') or model_type!r}: "
        "hermes-serve knows Llama (Hermes 4 405B/70B) and Qwen3 (Hermes 4 14B)"
    )


def shape_from_config(config: dict[str, Any], name: str) -> ModelShape:
    """Read a shape from a Hugging Face ``config.json`` (or an engine's ``pretrained_config``)."""
    config = config.get("pretrained_config", config)
    try:
        hidden = int(config["hidden_size"])
        heads = int(config["num_attention_heads"])
        family = _family(config)
        return ModelShape(
            name=name,
            family=family,
            layers=int(config["num_hidden_layers"]),
            hidden_size=hidden,
            attention_heads=heads,
            kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=int(config.get("head_dim") or config.get("head_size") or hidden // heads),
            vocab_size=int(config["vocab_size"]),
            intermediate_size=int(config["intermediate_size"]),
            max_context=int(config.get("max_position_embeddings") or 4096),
            tied_embeddings=bool(config.get("tie_word_embeddings", False)),
            qk_norm=family == "qwen3",
        )
    except KeyError as missing:
        raise ModelError(f"config.json lacks {missing}, so the model's shape is unknown") from None


def read_checkpoint(path: Path) -> ModelShape:
    """The shape of the checkpoint (or engine) in directory ``path``."""
    if not path.exists():
        raise ModelError(f"checkpoint {path} does not exist")
    if not path.is_dir():
        raise ModelError(f"checkpoint {path} is not a directory")
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ModelError(f"checkpoint {path} has no config.json (is it a Hugging Face checkpoint?)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read {config_path}: {error}") from None
    if not isinstance(config, dict):
        raise ModelError(f"{config_path} is not a JSON object")
    return shape_from_config(config, path.name)


def resolve_model(spec: str) -> ModelShape:
    """A built-in model name, or a checkpoint directory whose ``config.json`` gives the shape."""
    if spec.lower() in HERMES_4:
        return HERMES_4[spec.lower()]
    path = Path(spec).expanduser()
    if path.exists() or "/" in spec or spec.startswith("."):
        return read_checkpoint(path)
    return known_model(spec)


def checkpoint_precision(path: Path) -> str:
    """``fp8`` when the checkpoint's weights are FP8-quantized, else ``bf16``.

    ModelOpt checkpoints say so in ``hf_quant_config.json``; Hugging Face FP8 checkpoints
    in ``config.json``'s ``quantization_config`` (``fp8``, ``modelopt``, or
    compressed-tensors with 8-bit float weights).
    """
    modelopt = path / "hf_quant_config.json"
    if modelopt.is_file():
        try:
            algo = json.loads(modelopt.read_text(encoding="utf-8")).get("quantization", {}).get("quant_algo")
        except (OSError, ValueError, AttributeError):
            algo = None
        if str(algo).upper().startswith("FP8"):
            return "fp8"
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "bf16"
    quant = config.get("quantization_config") or config.get("pretrained_config", {}).get("quantization") or {}
    method = str(quant.get("quant_method") or quant.get("quant_algo") or "").lower()
    if method.startswith("fp8") or method == "modelopt":
        return "fp8"
    if method == "compressed-tensors":
        for group in (quant.get("config_groups") or {}).values():
            weights = group.get("weights") or {}
            if weights.get("type") == "float" and weights.get("num_bits") == 8:
                return "fp8"
    return "bf16"

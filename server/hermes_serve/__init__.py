"""hermes-serve: plan, build, launch and benchmark a Hermes 4 inference server on TensorRT-LLM.

Nothing here serves a model itself: ``run`` and ``build`` generate the commands and
configuration of TensorRT-LLM 1.2 (``trtllm-serve``, ``trtllm-build`` and the ModelOpt
quantization example) and start them; ``plan`` is the memory arithmetic behind those
choices; ``bench`` measures any OpenAI-compatible server with IDE-shaped traffic.
"""

__version__ = "0.1.0"

TRTLLM_VERSION = "1.2.1"
"""The TensorRT-LLM release whose command-line options and YAML keys this package writes."""

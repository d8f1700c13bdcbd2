"""Loading a causal language model and its tokenizer: device, dtype and quantisation.

4-bit (QLoRA's NF4 with double quantisation, bfloat16 compute, as in the course) and 8-bit
quantisation run only on CUDA through bitsandbytes; asking for them elsewhere is a clear error,
not a silent full-precision model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import torch

from pricebench.errors import PricerError

Quantization = Literal["4bit", "8bit"] | None
QUANTIZATIONS = ("4bit", "8bit")
ADAPTER_CONFIG = "adapter_config.json"


def resolve_device(device: str = "auto") -> str:
    """ "auto" becomes cuda, then mps, then cpu, whichever is present; others are checked."""
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    kind = device.split(":")[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise PricerError(f"device {device!r}: no CUDA GPU is available to torch")
    if kind not in ("cpu", "cuda", "mps"):
        raise PricerError(f"device {device!r}: use auto, cpu, cuda, cuda:N or mps")
    return device


def cuda_missing_reason() -> str | None:
    """Why 4-bit / 8-bit quantisation cannot run here, or None when it can."""
    if not torch.cuda.is_available():
        return "bitsandbytes quantisation needs a CUDA GPU and torch sees no CUDA device"
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        return "bitsandbytes is not installed: pip install bitsandbytes (CUDA only)"
    return None


def quantization_config(quantization: Quantization, device: str) -> Any:
    """The `BitsAndBytesConfig` for `quantization`, or None for full precision."""
    if quantization is None:
        return None
    if quantization not in QUANTIZATIONS:
        raise PricerError(f"quantization {quantization!r}: use 4bit, 8bit or none")
    reason = cuda_missing_reason()
    if reason is None and not device.startswith("cuda"):
        reason = f"quantised models run on CUDA only, not on {device!r}"
    if reason is not None:
        raise PricerError(f"{quantization} quantisation is not available: {reason}")
    from transformers import BitsAndBytesConfig

    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype(device),
    )


def compute_dtype(device: str) -> torch.dtype:
    """bfloat16 on GPUs that have it, float32 otherwise (CPU training and older cards)."""
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def adapter_base(adapter: str | Path) -> str | None:
    """The base model a saved LoRA adapter names, or None when `adapter` is not one."""
    config = Path(adapter) / ADAPTER_CONFIG
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text())["base_model_name_or_path"]
    except (OSError, json.JSONDecodeError, KeyError) as error:
        raise PricerError(f"{config}: not a readable adapter config ({error})") from None


def is_gguf(source: str | Path) -> bool:
    """Whether `source` names a GGUF file (from llama.cpp, Ollama, LM Studio)."""
    return str(source).lower().endswith(".gguf")


def _gguf_options(source: str | Path) -> tuple[str, dict[str, Any]]:
    """A GGUF file as transformers reads it: its folder, and `gguf_file=` its name."""
    path = Path(source)
    if not path.is_file():
        raise PricerError(f"{source}: no such GGUF file")
    return str(path.parent), {"gguf_file": path.name}


def load_tokenizer(source: str | Path) -> Any:
    """The tokenizer, padding on the left so batched prompts end where the price begins.

    A GGUF file carries its tokenizer; transformers rebuilds it (needs the `gguf` package).
    """
    from transformers import AutoTokenizer

    folder, options = _gguf_options(source) if is_gguf(source) else (str(source), {})
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **options)
    except (OSError, ValueError) as error:
        raise PricerError(f"cannot load a tokenizer from {str(source)!r}: {error}") from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    model: str | Path,
    adapter: str | Path | None = None,
    *,
    device: str = "cpu",
    quantization: Quantization = None,
    trainable: bool = False,
) -> Any:
    """The causal LM `model`, quantised when asked, with the LoRA `adapter` on top when given."""
    from transformers import AutoModelForCausalLM

    quant = quantization_config(quantization, device)
    options: dict[str, Any] = {"dtype": compute_dtype(device)}
    if quant is not None:
        options["quantization_config"] = quant
        options["device_map"] = {"": device}
    try:
        # Any: a PeftModel wraps it below, and transformers' own types do not cover that.
        if is_gguf(model):
            loaded = load_gguf(model, options["dtype"])
        else:
            loaded = AutoModelForCausalLM.from_pretrained(str(model), **options)
    except (OSError, ValueError) as error:
        raise PricerError(f"cannot load model {str(model)!r}: {error}") from None
    if quant is None:
        loaded = loaded.to(device)
    if adapter is not None:
        from peft import PeftModel

        try:
            loaded = PeftModel.from_pretrained(loaded, str(adapter), is_trainable=trainable)
        except (OSError, ValueError) as error:
            raise PricerError(f"cannot load adapter {str(adapter)!r}: {error}") from None
    if not trainable:
        loaded.eval()
    return loaded


def load_gguf(path: str | Path, dtype: torch.dtype = torch.float32) -> Any:
    """The model in the GGUF file `path`, dequantised to `dtype` as an ordinary model.

    transformers reads GGUF files (Q4, Q8, F16...) by dequantising their weights, but marks the
    result as GGUF-quantised, which refuses `save_pretrained` and confuses adapters; the weights
    are moved into a plain model of the same configuration, which saves, trains with LoRA and
    prices like any other.
    """
    from transformers import AutoModelForCausalLM

    folder, options = _gguf_options(path)
    read: Any = AutoModelForCausalLM.from_pretrained(folder, **options)
    config = read.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain: Any = AutoModelForCausalLM.from_config(config, dtype=dtype)
    plain.load_state_dict(read.state_dict())
    plain.name_or_path = str(path)
    return plain

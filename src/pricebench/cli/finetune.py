"""`pricebench finetune`: fine-tune an OpenAI model on the train split, or re-attach to a job."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from pricebench.chat.prompts import load_prompt
from pricebench.cli.common import add_data_options, load_data
from pricebench.errors import PricebenchError, missing_extra
from pricebench.finetune import DEFAULT_BASE_MODEL, OpenAIFineTuned


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a model on the train split (then `pricebench run ft:...`)",
        description="Fine-tune a chat model into a pricer, or re-attach to a running job.",
    )
    commands = parser.add_subparsers(dest="provider", metavar="PROVIDER", required=True)

    openai = commands.add_parser(
        "openai",
        help="fine-tune an OpenAI model",
        description=(
            "OpenAI is closing self-serve fine-tuning (to everyone on 2027-01-06; already to "
            "organizations that never fine-tuned or ran no fine-tuned model in 60 days): this "
            "says what holds before anything is uploaded. Open weights on your own GPU: "
            "`pricebench finetune lora`. "
            "Build the chat-format training file from the first TRAIN_SIZE training items (and a "
            "validation file from the next VAL_SIZE, or the file's validation split), check it, "
            "upload it, create the job and follow it to the end. The job id is saved at once; "
            "if this command is interrupted, `pricebench finetune resume JOB_ID` re-attaches, "
            "and running the same command again re-attaches to the same job."
        ),
    )
    add_data_options(openai)
    openai.add_argument(
        "--train-size", type=int, default=200, help="training examples (default: 200)"
    )
    openai.add_argument(
        "--val-size", type=int, default=50, help="validation examples, 0 for none (default: 50)"
    )
    openai.add_argument("--base-model", default=DEFAULT_BASE_MODEL)
    openai.add_argument("--epochs", type=int, default=None, help="n_epochs (default: auto)")
    openai.add_argument("--batch-size", type=int, default=None, help="batch_size (default: auto)")
    openai.add_argument(
        "--lr-multiplier", type=float, default=None, help="learning_rate_multiplier (default: auto)"
    )
    openai.add_argument(
        "--prompt",
        default=None,
        metavar="NAME|JSON",
        help="the prompt trained on: course-2024-frontier (the default, the course's OpenAI "
        "fine-tune), course-2024-training, course-2025 (completion rounded: 'Price is $46.00'), "
        "or a JSON file",
    )
    openai.add_argument("--suffix", default="pricer", help="added to the model's name")
    openai.add_argument("--job-seed", type=int, default=42, help="the job's seed (default: 42)")
    openai.add_argument("--wandb-project", default=None, help="report to this W&B project")
    _follow_options(openai)
    openai.add_argument(
        "--dry-run", action="store_true", help="check the files and estimate the cost only"
    )
    openai.set_defaults(func=finetune_openai)

    resume = commands.add_parser("resume", help="re-attach to a fine-tuning job by its id")
    resume.add_argument("job_id", metavar="JOB_ID", help="e.g. ftjob-abc123")
    _follow_options(resume)
    resume.set_defaults(func=finetune_resume)

    from pricebench.cli import lora  # open-weights fine-tuning, extra `hf` (imported when run)

    lora.add_parser(commands)


def _follow_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where job ids are saved (default: $PRICEBENCH_FINETUNE_DIR, else "
        "~/.pricebench/finetune)",
    )
    parser.add_argument(
        "--poll-interval", type=float, default=30.0, help="seconds between job status checks"
    )


def finetune_openai(args: argparse.Namespace) -> int:
    console = Console(stderr=True, highlight=False)
    dataset = load_data(args)
    if args.train_size < 1 or args.val_size < 0:
        raise PricebenchError("--train-size must be positive and --val-size not negative")
    train = dataset.train[: args.train_size]
    if dataset.validation:
        validation = dataset.validation[: args.val_size]
    else:  # held out from train, never from test
        validation = dataset.train[args.train_size : args.train_size + args.val_size]
    hyperparameters: dict[str, Any] = {}
    for key, value in (
        ("n_epochs", args.epochs),
        ("batch_size", args.batch_size),
        ("learning_rate_multiplier", args.lr_multiplier),
    ):
        if value is not None:
            hyperparameters[key] = value
    model = OpenAIFineTuned(
        base_model=args.base_model,
        prompt=load_prompt(args.prompt) if args.prompt else None,
        hyperparameters=hyperparameters,
        suffix=args.suffix or None,
        seed=args.job_seed,
        state_dir=args.state_dir,
        wandb_project=args.wandb_project,
        poll_interval=args.poll_interval,
    )
    console.print(
        f"data: {dataset!r}; fine-tuning {args.base_model} on {len(train)} items"
        f" (validation: {len(validation)})",
        markup=False,
    )
    if args.dry_run:
        report = model.check(train, validation)
        epochs = args.epochs or 1
        cost = report.cost(args.base_model, epochs)
        console.print(
            f"training file OK: {report.n_examples} examples, {report.n_bytes:,} bytes, about "
            f"{report.tokens:,} tokens (longest example {report.max_example_tokens:,})"
        )
        shown = f"${cost:,.2f}" if cost is not None else "unknown (no price for this model)"
        console.print(f"estimated training cost for {epochs} epoch(s): {shown}")
        return 0
    try:
        model.fit(train, validation or None)
    except ModuleNotFoundError as error:  # the openai SDK is an optional extra
        raise missing_extra(error, "fine-tuning") from None
    _done(model)
    return 0


def finetune_resume(args: argparse.Namespace) -> int:
    try:
        model = OpenAIFineTuned.resume(
            args.job_id, state_dir=args.state_dir, poll_interval=args.poll_interval
        )
    except ModuleNotFoundError as error:
        raise missing_extra(error, "fine-tuning") from None
    _done(model)
    return 0


def _done(model: OpenAIFineTuned) -> None:
    print(model.fine_tuned_model_)
    Console(stderr=True, highlight=False).print(
        f"next: pricebench run {model.fine_tuned_model_} --workers 4", soft_wrap=True
    )

"""Open-weights pricers on a tiny Llama built here: LoRA training, decoding, saving, the Tester."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from subprocess import DEVNULL

import pytest
import torch
from transformers import TrainerCallback

from pricebench import Item, Tester, load_dataset, make_pricer
from pricebench.chat.prompts import COURSE_PROMPT
from pricebench.cli import main
from pricebench.errors import PricebenchError, PriceParseError, PricerError
from pricebench.hf import (
    COURSE_LORA,
    COURSE_TRAINING_PROMPT,
    HFPricer,
    LoRAFineTuned,
    TrainingPlan,
    plan_training,
    prompt_text,
    training_pair,
)
from pricebench.hf.loading import load_tokenizer
from pricebench.hf.plan import ASSUMED_FLOPS, CPU_MAX_PARAMS, count_parameters
from pricebench.pricer import Estimate, clone_pricer
from tests import hf_tiny
from tests.conftest import COURSE_ITEMS

FAST = {  # a few quick steps on the tiny model; the course's values are the class defaults
    "r": 8,
    "alpha": 16,
    "learning_rate": 1e-2,
    "batch_size": 8,
    "max_length": 128,
    "logging_steps": 1,
    "device": "cpu",
    "progress": False,
}


@pytest.fixture(scope="module")
def data():
    return load_dataset(COURSE_ITEMS)


@pytest.fixture(scope="module")
def tiny(data, tmp_path_factory):
    return str(hf_tiny.build(data.train[:500], tmp_path_factory.mktemp("tiny-llama")))


@pytest.fixture(scope="module")
def trained(data, tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("lora")
    return LoRAFineTuned(tiny, out, max_steps=16, save_steps=8, **FAST).fit(data.train[:64])


def test_the_tiny_model_is_tiny(tiny):
    from transformers import AutoModelForCausalLM

    parameters = AutoModelForCausalLM.from_pretrained(tiny).num_parameters()
    assert 50_000 < parameters < 1_000_000
    assert count_parameters(tiny) == parameters  # its tied output layer counted once


def test_training_and_pricing_read_the_same_prompt(data, tiny):
    tokenizer = load_tokenizer(tiny)
    item = max(data.train[:50], key=lambda i: len(i.text))
    pair = training_pair(item, COURSE_PROMPT, tokenizer, None, 128)
    text = prompt_text(item, COURSE_PROMPT, tokenizer, None, 128)
    assert text == pair["prompt"] and text.endswith("Price is $")
    # the loss falls on the price after "Price is $" only, to the cent or, as the course, dollar
    assert pair["completion"] == f"{item.price:.2f}"
    rounded = training_pair(item, COURSE_TRAINING_PROMPT, tokenizer, False, 128)
    assert rounded["completion"] == f"{round(item.price)}.00"  # the prompt's whole_dollars
    assert rounded["prompt"].startswith("How much does this cost to the nearest dollar?\n\n")
    # the long text is cut so the prompt leaves room for the price, never the price itself
    assert len(tokenizer(text)["input_ids"]) <= 128 - 8
    assert len(tokenizer(prompt_text(item, COURSE_PROMPT, tokenizer, None))["input_ids"]) > 128


def test_lora_steps_lower_the_training_loss(trained):
    losses = [loss for _, loss in trained.losses_]
    assert len(losses) == 16
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4 - 0.1


def test_course_hyperparameters_are_the_defaults(tmp_path):
    model = LoRAFineTuned("base", tmp_path)
    assert {key: getattr(model, key) for key in COURSE_LORA} == COURSE_LORA
    args = model.training_args("cpu", None)
    assert args.completion_only_loss is True  # loss on the price, not on the item text
    assert args.max_grad_norm == 0.3 and args.train_sampling_strategy == "group_by_length"
    assert model.prompt == COURSE_TRAINING_PROMPT and model.prompt.whole_dollars
    # the prompt decides the completion: the frontier prompt (the OpenAI fine-tune's) keeps cents
    frontier = LoRAFineTuned("base", tmp_path, prompt="course-2024-frontier").prompt
    assert frontier.completion(Item(id="a", title="t", text="t", price=45.49)) == "Price is $45.49"
    assert args.learning_rate == 1e-4 and args.lr_scheduler_type == "cosine"
    assert args.max_length == 182 and args.per_device_train_batch_size == 4
    assert args.report_to == [] or args.report_to == "none" or args.report_to == ["none"]
    reporting = LoRAFineTuned("base", tmp_path, wandb_project="pricer", push_to_hub="me/pricer")
    args = reporting.training_args("cpu", None)
    assert args.report_to == ["wandb"]
    assert args.push_to_hub and args.hub_model_id == "me/pricer" and args.hub_private_repo


class _Interrupt(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise KeyboardInterrupt


class _Steps(TrainerCallback):
    def __init__(self):
        self.steps = []

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append(state.global_step)


def test_an_interrupted_run_resumes_from_its_checkpoint(data, tiny, tmp_path):
    settings = {**FAST, "max_steps": 6, "save_steps": 2}
    with pytest.raises(KeyboardInterrupt):
        LoRAFineTuned(tiny, tmp_path, callbacks=[_Interrupt()], **settings).fit(data.train[:32])
    assert (tmp_path / "checkpoint-2").is_dir()
    steps = _Steps()
    model = LoRAFineTuned(tiny, tmp_path, callbacks=[steps], **settings).fit(data.train[:32])
    assert steps.steps == [3, 4, 5, 6]  # steps 1-2 came from the checkpoint, not again
    assert model.global_step_ == 6
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    other = {**settings, "r": 4}
    with pytest.raises(PricebenchError, match="other settings.*r"):
        LoRAFineTuned(tiny, tmp_path, **other).fit(data.train[:32])


def test_top_k_prices_every_test_item(data, trained):
    pricer = trained.pricer_
    pricer.batch_size = 32
    outcomes = pricer.estimate_many(data.test[:96])
    assert all(isinstance(o, Estimate) for o in outcomes)
    assert all(math.isfinite(o.price) and o.price >= 0 for o in outcomes)
    assert all(o.input_tokens > 0 and o.output_tokens > 0 for o in outcomes)
    assert pricer.tokens_per_second > 0


def test_save_and_load_give_identical_predictions(data, tiny, trained, tmp_path):
    items = data.test[:12]
    before = trained.predict_batch(items)
    trained.save(tmp_path / "saved")
    loaded = HFPricer.from_pretrained(tmp_path / "saved", device="cpu")
    assert loaded.adapter == str(tmp_path / "saved") and loaded.model == tiny
    assert loaded.predict_batch(items) == before
    assert make_pricer(f"hf:{tmp_path / 'saved'}", device="cpu").predict_batch(items) == before
    # BASE+ADAPTER reads the settings the adapter was trained with (prompt, max_length, ...)
    spec = make_pricer(f"hf:{tiny}+{tmp_path / 'saved'}", device="cpu")
    assert isinstance(spec, HFPricer)
    assert (spec.max_length, spec.prompt, spec.chat) == (128, trained.prompt, trained.chat)
    assert spec.predict_batch(items) == before
    override = make_pricer(f"hf:{tiny}+{tmp_path / 'saved'}", device="cpu", top_k=5)
    assert override.top_k == 5 and override.max_length == 128


def test_the_ceiling_is_learned_from_the_training_prices_and_saved(data, tiny, trained, tmp_path):
    pricer = HFPricer(tiny, device="cpu")
    assert pricer.learns and pricer.ceiling is None  # unfitted: no ceiling
    assert pricer.fit(data.train[:10]).ceiling == max(i.price for i in data.train[:10])
    with pytest.raises(PricerError, match="no training items"):
        HFPricer(tiny).fit([])
    given = HFPricer(tiny, max_price=50.0)
    assert not given.learns and given.fit(data.train).ceiling == 50.0
    with pytest.raises(PricerError, match="max_price"):
        HFPricer(tiny, max_price=0)
    # an ensemble's folds clone it unfitted, on the model already loaded (never a second copy)
    loaded = HFPricer.from_pretrained(trained.output_dir / "adapter", max_price=None)
    loaded._load()
    copy = clone_pricer(loaded.fit(data.train[:10]))
    assert copy.ceiling is None and copy._model is loaded._model
    assert copy.get_params() == loaded.get_params()
    # the recorded prompt has no whole_dollars when off: runs started before it still match
    assert "whole_dollars" not in HFPricer(tiny).get_params()["prompt"]
    # a fine-tune keeps the highest price it was taught; its saved pricer needs no fit
    taught = max(item.price for item in data.train[:64])
    saved = HFPricer.from_pretrained(trained.output_dir / "adapter")
    assert saved.max_price == taught and not saved.learns
    # a top-K candidate above the ceiling counts at it; the reply keeps what was written
    model, tokenizer = trained.pricer_._model, trained.pricer_._tokenizer
    # (a greedy price above it: the real SmolLM2 in test_hf_smollm2.py)
    free = HFPricer.from_model(model, tokenizer, model_name=tiny, method="top-k")
    uncapped = free.estimate_many(data.test[:8])
    assert all(isinstance(b, Estimate) for b in uncapped), uncapped
    ceiling = max(b.price for b in uncapped) / 2  # type: ignore[union-attr]
    low = HFPricer.from_model(model, tokenizer, model_name=tiny, max_price=ceiling)
    for a, b in zip(low.estimate_many(data.test[:8]), uncapped, strict=True):
        assert isinstance(a, Estimate) and isinstance(b, Estimate)
        assert a.price < b.price and a.price <= ceiling and a.reply == b.reply


def test_save_keeps_quantization(data, trained, tmp_path):
    pricer = trained.pricer_
    quantised = HFPricer.from_model(
        pricer._model, pricer._tokenizer, model_name=pricer.model, quantization="4bit"
    )
    quantised.save(tmp_path / "q")
    assert HFPricer.from_pretrained(tmp_path / "q").quantization == "4bit"
    assert HFPricer.from_pretrained(tmp_path / "q", quantization=None).quantization is None


def test_the_tester_scores_an_hf_pricer_end_to_end(data, trained, tmp_path):
    pricer = HFPricer.from_pretrained(trained.output_dir / "adapter", device="cpu")
    results = Tester(pricer, data.test[:16], out=tmp_path / "run", progress=False).run()
    assert results.n_priced == 16 and results.n_failed == 0
    assert math.isfinite(results.mean_error)
    assert results.header.params["method"] == "top-k"
    assert results.header.params["max_price"] == max(i.price for i in data.train[:64])
    # priced in bulk, each item still keeps its candidates and token counts
    assert all(r.reply and " p=" in r.reply for r in results.records)
    assert all(r.input_tokens > 0 and r.output_tokens > 0 for r in results.records)


def test_greedy_decoding_fails_an_item_rather_than_guessing(data, tiny):
    pricer = HFPricer(tiny, method="greedy", device="cpu", max_new_tokens=4)
    outcomes = pricer.estimate_many(data.test[:4])
    for outcome in outcomes:  # an untrained model writes no price: failures, never $0
        if isinstance(outcome, Estimate):
            assert outcome.price > 0 and outcome.reply
        else:
            assert isinstance(outcome, PriceParseError) and outcome.reply is not None


def test_quantisation_without_cuda_is_a_clear_error(data, tiny, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(PricerError, match="4bit quantisation is not available: .*CUDA"):
        HFPricer(tiny, quantization="4bit").predict(data.test[0])
    model = LoRAFineTuned(tiny, "unused", quantization="auto")
    assert model.resolved_quantization("cpu") is None  # QLoRA only where 4-bit is available


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="4-bit bitsandbytes needs CUDA: no CUDA GPU here"
)
def test_four_bit_pricing_on_cuda(data, tiny):
    pytest.importorskip("bitsandbytes", reason="4-bit needs bitsandbytes (CUDA only)")
    pricer = HFPricer(tiny, quantization="4bit", device="cuda")
    assert all(math.isfinite(p) for p in pricer.predict_batch(data.test[:8]))


def test_plan_counts_tokens_and_refuses_large_models_on_cpu(data, tiny, tmp_path):
    tokenizer = load_tokenizer(tiny)
    items = data.train[:10]
    plan = plan_training(
        items, tokenizer, COURSE_PROMPT, parameters=8_000_000_000, device="cpu", batch_size=4
    )
    texts = [
        "".join(training_pair(i, COURSE_PROMPT, tokenizer, None, 182).values()) + "</s>"
        for i in items
    ]
    lengths = [min(len(tokenizer(t)["input_ids"]), 182) for t in texts]
    assert plan.tokens_per_epoch == sum(lengths) and plan.steps == 3
    short = plan_training(
        items, tokenizer, COURSE_PROMPT, parameters=1, device="cpu", max_length=150
    )
    cut = [prompt_text(i, COURSE_PROMPT, tokenizer, None, 150) for i in items]
    whole = [prompt_text(i, COURSE_PROMPT, tokenizer, None) for i in items]
    assert short.truncated == sum(a != b for a, b in zip(cut, whole, strict=True)) > 0
    assert plan.seconds == pytest.approx(6 * 8e9 * plan.tokens / ASSUMED_FLOPS["cpu"])
    model = LoRAFineTuned("big-model", tmp_path)
    with pytest.raises(PricerError, match="--allow-cpu"):
        model.check_scale(plan)
    LoRAFineTuned("big-model", tmp_path, allow_cpu=True).check_scale(plan)
    small = TrainingPlan(10, 100, 20, 0, 1, 3, CPU_MAX_PARAMS, "cpu")
    model.check_scale(small)
    capped = plan_training(items, tokenizer, COURSE_PROMPT, parameters=1, device="cpu", max_steps=5)
    assert capped.steps == 5 and capped.epochs == pytest.approx(5 / 3)


def test_hf_specs(tiny):
    assert isinstance(make_pricer(f"hf:{tiny}"), HFPricer)
    with pytest.raises(PricerError, match="hf: needs a model"):
        make_pricer("hf")
    with pytest.raises(PricerError, match="method"):
        make_pricer(f"hf:{tiny}", method="beam")


def test_run_on_data_without_a_train_split_names_the_ceiling(data, tiny, tmp_path, capsys):
    path = tmp_path / "all-test.jsonl"
    path.write_text("".join(i.model_copy(update={"split": "test"}).model_dump_json() + "\n"
                            for i in data.test[:2]))  # fmt: skip
    argv = ["run", f"hf:{tiny}", "--data", str(path), "--out", str(tmp_path / "r")]
    assert main([*argv, "--param", "max_new_tokens=2"]) != 0
    assert "--param max_price=N" in capsys.readouterr().err
    # given, nothing is learned and the run goes ahead
    assert main([*argv, "--param", "max_new_tokens=2", "--param", "max_price=999"]) == 0


def test_finetune_lora_command(tiny, tmp_path, capsys):
    common = ["finetune", "lora", "--data", str(COURSE_ITEMS), "--base-model", tiny]
    out = tmp_path / "run"
    assert main([*common, "--output", str(out), "--train-size", "16", "--dry-run"]) == 0
    assert "16 examples" in capsys.readouterr().out
    argv = [*common, "--output", str(out), "--train-size", "16", "--max-steps", "2"]
    assert main([*argv, "--device", "cpu", "--max-length", "128", "--batch-size", "8"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "adapter")
    # Two new tokens keep a random tiny model's guesses under the Tester's $1e9 ceiling.
    assert main(["run", f"hf:{out / 'adapter'}", "--data", str(COURSE_ITEMS), "--size", "4",
                 "--param", "max_new_tokens=2", "--out", str(tmp_path / "results")]) == 0  # fmt: skip


def test_the_bound_on_expansions_is_a_setting_and_a_stopped_search_says_so(data, tiny):
    with pytest.raises(PricerError, match="max_expansions"):
        HFPricer(tiny, max_expansions=0)
    full = HFPricer(tiny, device="cpu", max_price=999.0).estimate_many(data.test[:8])
    cut = HFPricer(tiny, device="cpu", max_price=999.0, max_expansions=1)
    assert cut.get_params()["max_expansions"] == 1
    outcomes = cut.estimate_many(data.test[:8])
    stopped = [o for o in outcomes if "search stopped at 1 expansions" in (o.reply or "")]
    assert stopped and all(o.reply.count(" p=") == 3 for o in stopped)
    assert all("stopped" not in (o.reply or "") for o in full)


def test_predict_batch_fails_only_the_items_the_model_gives_no_price_for(data, trained):
    fitted = trained.pricer_
    pricer = HFPricer.from_model(
        fitted._model, fitted._tokenizer, model_name=fitted.model, method="greedy",
        max_new_tokens=4, prompt=fitted.prompt, chat=fitted.chat, max_length=fitted.max_length,
    )  # fmt: skip
    decode = pricer._decode

    def every_third_reply_is_no_price(generated):
        texts, counts = decode(generated)
        return [t if n % 3 else "no idea" for n, t in enumerate(texts)], counts

    pricer._decode = every_third_reply_is_no_price  # the trained model always writes a price
    items = data.test[:8]
    outcomes = pricer.estimate_many(items)
    prices = pricer.predict_batch(items)  # raised on the first bad reply, losing the rest
    assert len(prices) == len(items)
    failed = [isinstance(o, PriceParseError) for o in outcomes]
    assert failed == [n % 3 == 0 for n in range(len(items))]
    for outcome, price in zip(outcomes, prices, strict=True):
        if isinstance(outcome, Estimate):
            assert price == outcome.price and math.isfinite(price)
        else:
            assert math.isnan(price)
    # a pricer with only predict_batch gets those items recorded as failures, the others priced
    bulk_only = type("BulkOnly", (), {"name": "bulk", "predict_batch": staticmethod(
        pricer.predict_batch), "predict": pricer.predict})()  # fmt: skip
    results = Tester(bulk_only, items, progress=False).run()
    assert results.n_failed == sum(failed) and results.n_priced == len(items) - sum(failed)


def test_a_killed_run_keeps_every_batch_it_finished(tiny, tmp_path):
    """kill -9 during `pricebench run hf:...` loses at most the batch being priced: each batch's
    records are on disk as soon as it is done (they waited for a chunk of 256 items before)."""
    out = tmp_path / "runs"
    src = Path(__file__).resolve().parents[1] / "src"
    environment = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "pricebench", "run", f"hf:{tiny}", "--data",
               str(COURSE_ITEMS), "--size", "200", "--out", str(out),
               "--param", "device=cpu", "--param", "batch_size=2"]  # fmt: skip
    process = subprocess.Popen(command, env=environment, stdout=DEVNULL, stderr=DEVNULL)
    deadline, seen = time.monotonic() + 300, 0
    while process.poll() is None and time.monotonic() < deadline and seen < 4:
        seen = sum(len(f.read_bytes().splitlines()) for f in out.rglob("items.jsonl"))
        time.sleep(0.02)
    process.kill()  # SIGKILL: nothing of pricebench runs after it
    process.wait()
    assert process.returncode == -signal.SIGKILL
    (items_file,) = out.rglob("items.jsonl")
    records = [json.loads(line) for line in items_file.read_text().splitlines()]
    assert 4 <= len(records) < 200, len(records)
    # priced two at a time: each record says its latency is the mean of a call for two items
    assert all(r["latency_items"] == 2 and r["latency"] > 0 for r in records)
    # the same command again prices only what the killed run had not written
    again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    ids = [json.loads(line)["id"] for line in items_file.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 200
    assert ids[: len(records)] == [r["id"] for r in records]

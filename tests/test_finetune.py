"""OpenAIFineTuned through the real openai client, against a mock fine-tuning state machine."""

from __future__ import annotations

import json
import re

import pytest

import pricebench.finetune.pricer as finetune_module
from pricebench import Item, OpenAIFineTuned, Tester, load_items, make_pricer
from pricebench.chat.openai import OpenAIPricer
from pricebench.chat.prompts import COURSE_PROMPT, PromptTemplate
from pricebench.errors import PricerError
from pricebench.finetune import (
    FineTuneError,
    JobState,
    TrainingFileError,
    training_example,
    validate_examples,
)
from tests.conftest import COURSE_ITEMS
from tests.finetune_api import FineTuningAPI, saved_job_ids


@pytest.fixture(scope="module")
def course() -> tuple[list[Item], list[Item]]:
    train = load_items(COURSE_ITEMS, split="train")
    return train[:12], train[12:15]


def fine_tuned(api: FineTuningAPI, tmp_path, **options) -> OpenAIFineTuned:
    options = {
        "hyperparameters": {"n_epochs": 1},
        "state_dir": tmp_path / "jobs",
        "poll_interval": 0,
        "cache": False,
        "verbose": False,
        **options,
    }
    return OpenAIFineTuned(client=api.client(), **options)


def test_fit_uploads_the_course_prompt_line_by_line_and_trains(tmp_path, course):
    train, validation = course
    api = FineTuningAPI()
    hyper = {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 0.5}
    model = fine_tuned(api, tmp_path, hyperparameters=hyper, suffix="pricer", seed=42)
    assert model.fit(train, validation) is model

    request = api.job_requests[0]
    assert request["model"] == "gpt-4.1-mini-2025-04-14"
    assert request["method"] == {"type": "supervised", "supervised": {"hyperparameters": hyper}}
    assert (request["suffix"], request["seed"]) == ("pricer", 42)
    train_file, val_file = request["training_file"], request["validation_file"]
    assert api.files[train_file]["purpose"] == "fine-tune"
    assert api.files[val_file]["purpose"] == "fine-tune"
    for uploaded, items in ((train_file, train), (val_file, validation)):
        lines = api.uploaded_lines(uploaded)
        assert len(lines) == len(items)
        for line, item in zip(lines, items, strict=True):
            assert line == {
                "messages": [
                    {"role": "system", "content": COURSE_PROMPT.system},
                    {"role": "user", "content": COURSE_PROMPT.user_message(item)},
                    {"role": "assistant", "content": f"Price is ${item.price:.2f}"},
                ]
            }
    statuses = [s for s in ("validating_files", "queued", "running", "succeeded")]
    assert api.jobs["ftjob-1"]["status"] == statuses[-1]
    assert model.job_id_ == "ftjob-1"
    assert model.fine_tuned_model_ == "ft:gpt-4.1-mini-2025-04-14:org-test:pricer:1abc"
    assert model.trained_tokens_ == 12_345
    assert model.training_cost_ == pytest.approx(12_345 * 5.00 / 1e6)
    assert isinstance(model.pricer_, OpenAIPricer)
    assert model.name == "openai:ft:gpt-4.1-mini-2025-04-14:org-test:pricer:1abc"
    assert JobState.find(tmp_path / "jobs", job_id="ftjob-1").status == "succeeded"


def test_the_trained_model_prices_items_and_is_an_ordinary_pricer(tmp_path, course):
    train, _ = course
    api = FineTuningAPI(reply="Price is $123.45")
    model = fine_tuned(api, tmp_path).fit(train)
    results = Tester(model, train[:3], workers=2).run()
    assert results.n_priced == 3 and all(r.guess == 123.45 for r in results.records)
    assert {r["model"] for r in api.chat_requests} == {model.fine_tuned_model_}
    # The prediction prompt is the training conversation without its answer: [system, user].
    learnt = [ex["messages"][:-1] for ex in model.training_examples(train[:3])]
    assert all(request["messages"] in learnt for request in api.chat_requests)
    assert api.chat_requests[0]["messages"][-1]["role"] == "user"
    assert results.header.params["model"] == model.fine_tuned_model_
    assert results.cost > 0 and results.cost_known  # priced as its base model's fine-tune


def test_job_id_is_saved_before_the_first_poll(tmp_path, course):
    seen_at_poll: list[set[str]] = []
    api = FineTuningAPI(
        on_poll=lambda job_id: seen_at_poll.append(saved_job_ids(tmp_path / "jobs"))
    )
    fine_tuned(api, tmp_path).fit(course[0])
    assert seen_at_poll and seen_at_poll[0] == {"ftjob-1"}


def test_fitting_again_reattaches_instead_of_paying_twice(tmp_path, course):
    api = FineTuningAPI()
    first = fine_tuned(api, tmp_path).fit(course[0])
    second = fine_tuned(api, tmp_path).fit(course[0])
    assert len(api.job_requests) == 1 and len(api.files) == 1
    assert second.fine_tuned_model_ == first.fine_tuned_model_
    fine_tuned(api, tmp_path, hyperparameters={"n_epochs": 3}).fit(course[0])
    assert len(api.job_requests) == 2  # other settings are another job


def test_weights_and_biases_integration_reaches_the_request(tmp_path, course):
    api = FineTuningAPI()
    fine_tuned(api, tmp_path, wandb_project="price-is-right", suffix=None, seed=None).fit(course[0])
    request = api.job_requests[0]
    assert request["integrations"] == [{"type": "wandb", "wandb": {"project": "price-is-right"}}]
    assert "suffix" not in request and "seed" not in request


def test_failed_job_raises_with_openais_message(tmp_path, course):
    message = "Training file has 3 example(s), but must have at least 10 examples"
    api = FineTuningAPI(
        ("validating_files", "failed"),
        error={"code": "invalid_training_file", "message": message, "param": "training_file"},
    )
    with pytest.raises(FineTuneError, match="at least 10 examples") as raised:
        fine_tuned(api, tmp_path).fit(course[0])
    assert raised.value.job_id == "ftjob-1" and raised.value.code == "invalid_training_file"
    assert JobState.find(tmp_path / "jobs", job_id="ftjob-1").error == message
    # A failed job is not re-attached to: fitting again starts a new one.
    api.plan = ("validating_files", "queued", "running", "succeeded")
    fine_tuned(api, tmp_path).fit(course[0])
    assert len(api.job_requests) == 2


def test_cancelled_job_raises(tmp_path, course):
    api = FineTuningAPI(("validating_files", "queued", "cancelled"))
    with pytest.raises(FineTuneError, match="ftjob-1 cancelled"):
        fine_tuned(api, tmp_path).fit(course[0])


def test_ctrl_c_without_a_terminal_leaves_the_job_running_and_resume_reattaches(
    tmp_path, course, monkeypatch, capsys
):
    api = FineTuningAPI()

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(finetune_module.time, "sleep", interrupt)
    with pytest.raises(KeyboardInterrupt):
        fine_tuned(api, tmp_path, poll_interval=1).fit(course[0])
    assert api.cancelled == []
    assert api.jobs["ftjob-1"]["status"] == "queued"  # polled once, then interrupted
    assert "pricebench finetune resume ftjob-1" in capsys.readouterr().err

    monkeypatch.undo()
    resumed = OpenAIFineTuned.resume(
        "ftjob-1",
        client=api.client(),
        state_dir=tmp_path / "jobs",
        poll_interval=0,
        cache=False,
        verbose=False,
    )
    assert len(api.job_requests) == 1  # no new job
    assert resumed.job_id_ == "ftjob-1"
    assert resumed.hyperparameters == {"n_epochs": 1}  # settings come back from the saved state
    assert resumed.fine_tuned_model_ == api.jobs["ftjob-1"]["fine_tuned_model"]


def test_ctrl_c_on_a_terminal_can_cancel_the_job(tmp_path, course, monkeypatch):
    api = FineTuningAPI()
    monkeypatch.setattr(
        finetune_module.time, "sleep", lambda s: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    monkeypatch.setattr(finetune_module.sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    with pytest.raises(FineTuneError, match="cancelled at your request"):
        fine_tuned(api, tmp_path, poll_interval=1).fit(course[0])
    assert api.cancelled == ["ftjob-1"]
    assert JobState.find(tmp_path / "jobs", job_id="ftjob-1").status == "cancelled"


def test_resume_of_a_job_started_elsewhere_reads_it_from_openai(tmp_path, course):
    api = FineTuningAPI()
    fine_tuned(api, tmp_path, state_dir=tmp_path / "other").fit(course[0])
    resumed = OpenAIFineTuned.resume(
        "ftjob-1", client=api.client(), state_dir=tmp_path / "mine", poll_interval=0, cache=False
    )
    assert resumed.fine_tuned_model_.startswith("ft:gpt-4.1-mini-2025-04-14")


def test_from_model_and_the_ft_spec_use_the_given_model(tmp_path, course):
    api = FineTuningAPI(reply="Price is $9.99")
    name = "ft:gpt-4.1-mini-2025-04-14:org-test:pricer:xyz"
    model = OpenAIFineTuned.from_model(name, client=api.client(), cache=False)
    assert model.predict(course[0][0]) == 9.99
    spec = make_pricer(
        "ft:gpt-4.1-mini-2025-04-14:org-test:pricer:xyz", client=api.client(), cache=False
    )
    assert spec.predict(course[0][0]) == 9.99
    assert [r["model"] for r in api.chat_requests] == [name, name]
    with pytest.raises(PricerError, match="fine-tuned model name"):
        OpenAIFineTuned.from_model("gpt-4o-mini")


def test_an_untrained_pricer_says_what_to_do(course):
    with pytest.raises(PricerError, match="call fit"):
        OpenAIFineTuned(client=object()).predict(course[0][0])
    with pytest.raises(PricerError, match="unknown hyperparameter"):
        OpenAIFineTuned(hyperparameters={"epochs": 1})


def test_custom_prompt_is_used_for_training_and_prediction(tmp_path, course):
    prompt = PromptTemplate(system="Price it.", user="{title}", prefill="$")
    api = FineTuningAPI(reply="$5")
    model = fine_tuned(api, tmp_path, prompt=prompt).fit(course[0])
    first = api.uploaded_lines(api.job_requests[0]["training_file"])[0]["messages"]
    item = course[0][0]
    assert first == [
        {"role": "system", "content": "Price it."},
        {"role": "user", "content": item.title},
        {"role": "assistant", "content": f"${item.price:.2f}"},
    ]
    assert model.predict(item) == 5.0
    assert api.chat_requests[0]["messages"][1] == {"role": "user", "content": item.title}


# --- the training-file validator, before anything is uploaded ---------------------------------


def examples(n: int = 10) -> list[dict]:
    item = Item(id="a", title="A thing", text="A thing", price=12.5)
    return [training_example(item, COURSE_PROMPT) for _ in range(n)]


def test_validator_accepts_the_course_format_and_estimates_cost():
    report = validate_examples(examples(20))
    assert report.n_examples == 20 and report.tokens > 20 * 10
    assert report.cost("gpt-4.1-mini-2025-04-14", epochs=2) == pytest.approx(
        report.tokens * 2 * 5.00 / 1e6
    )
    assert report.cost("some-unknown-model", epochs=1) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda e: e[3]["messages"][1].update(content="  "),
            r"line 4: messages\[1\].content is empty",
        ),
        (
            lambda e: e[0]["messages"][0].update(role="tool"),
            r"line 1: messages\[0\].role is 'tool'",
        ),
        (lambda e: e[2]["messages"].pop(), "line 3: the last message must be the assistant"),
        (lambda e: e[5].pop("messages"), "line 6: needs a non-empty 'messages' list"),
        (lambda e: e[1]["messages"][0].update(extra=1), r"line 2: messages\[0\] has unknown key"),
        (lambda e: e[7]["messages"][1].update(content="x" * 300_000), "line 8: about 75,"),
    ],
)
def test_validator_names_the_line_and_field(change, message):
    broken = json.loads(json.dumps(examples()))
    change(broken)
    with pytest.raises(TrainingFileError, match=message):
        validate_examples(broken)


def test_validator_needs_ten_examples_and_fit_checks_before_uploading(tmp_path, course):
    with pytest.raises(TrainingFileError, match="9 examples; OpenAI needs at least 10"):
        validate_examples(examples(9))
    api = FineTuningAPI()
    with pytest.raises(TrainingFileError):
        fine_tuned(api, tmp_path).fit(course[0][:5])
    assert api.paths == []  # nothing was sent


# --- the command line ---------------------------------------------------------------------


def test_cli_finetune_trains_resumes_and_dry_runs(tmp_path, monkeypatch, capsys):
    from pricebench.cli import main

    api = FineTuningAPI()
    client = api.client()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr("openai.OpenAI", lambda **options: client)
    common = ["--data", str(COURSE_ITEMS), "--state-dir", str(tmp_path), "--poll-interval", "0"]
    args = ["finetune", "openai", "--train-size", "12", "--val-size", "3", "--epochs", "2"]
    assert main([*args, *common]) == 0
    model = api.jobs["ftjob-1"]["fine_tuned_model"]
    assert capsys.readouterr().out.strip() == model
    request = api.job_requests[0]
    assert request["method"]["supervised"]["hyperparameters"] == {"n_epochs": 2}
    assert len(api.uploaded_lines(request["training_file"])) == 12
    assert len(api.uploaded_lines(request["validation_file"])) == 3

    assert main(["finetune", "resume", "ftjob-1", *common[2:]]) == 0
    assert capsys.readouterr().out.strip() == model and len(api.job_requests) == 1

    assert main([*args, "--dry-run", *common]) == 0
    err = " ".join(capsys.readouterr().err.split())
    tokens = int(re.search(r"about ([\d,]+) tokens", err).group(1).replace(",", ""))
    assert f"estimated training cost for 2 epoch(s): ${tokens * 2 * 5.00 / 1e6:,.2f}" in err
    assert len(api.job_requests) == 1

    assert main(["finetune", "openai", "--train-size", "5", *common]) == 2  # too few examples
    assert "OpenAI needs at least 10" in capsys.readouterr().err


def test_fit_without_the_openai_sdk_is_one_line_naming_the_extra(tmp_path, course, monkeypatch):
    import sys

    from pricebench.errors import MissingExtra

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setitem(sys.modules, "openai", None)  # as if the extra were not installed
    model = OpenAIFineTuned(state_dir=tmp_path / "jobs", verbose=False)
    with pytest.raises(MissingExtra, match=r"pip install 'pricebench\[openai\]'"):
        model.fit(course[0][:20])


# --- fine-tuning access: OpenAI is closing self-serve fine-tuning ---------------------------------


def test_the_catalogue_carries_openais_fine_tuning_access_with_dates_and_source():
    from datetime import date

    from pricebench.chat.models import fine_tuning_access

    access = fine_tuning_access("openai")
    assert [s.closed_on for s in access.stages] == [
        date(2026, 5, 7),
        date(2026, 7, 2),
        date(2027, 1, 6),
    ]
    assert access.closes == date(2027, 1, 6) and "deprecations" in access.source
    notice = access.notice(date(2026, 12, 4))
    assert "close to everyone on 2027-01-06 (in 33 days)" in notice
    assert "never ran a fine-tuning job since 2026-05-07" in notice
    assert "pricebench finetune lora" in notice
    assert "closed to everyone since 2027-01-06" in access.notice(date(2027, 1, 6))


def test_finetune_openai_and_its_dry_run_say_so_before_any_upload(tmp_path, monkeypatch, capsys):
    from pricebench.cli import main

    api = FineTuningAPI()
    client = api.client()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr("openai.OpenAI", lambda **options: client)
    common = ["--data", str(COURSE_ITEMS), "--state-dir", str(tmp_path), "--poll-interval", "0"]
    args = ["finetune", "openai", "--train-size", "12", "--val-size", "0"]
    assert main([*args, "--dry-run", *common]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "OpenAI self-serve fine-tuning" in err and "2027-01-06" in err
    assert api.paths == []  # nothing sent
    assert main([*args, *common]) == 0
    err = " ".join(capsys.readouterr().err.split())
    notice, upload = err.index("OpenAI self-serve fine-tuning"), err.index("uploaded ")
    assert notice < upload  # said before the upload


def test_the_apis_refusal_is_one_line_naming_the_open_weights_path(tmp_path, monkeypatch, capsys):
    from pricebench.cli import main

    api = FineTuningAPI(refuse=True)
    client = api.client()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr("openai.OpenAI", lambda **options: client)
    common = ["--data", str(COURSE_ITEMS), "--state-dir", str(tmp_path), "--poll-interval", "0"]
    code = main(["finetune", "openai", "--train-size", "12", "--val-size", "0", *common])
    assert code == 2
    err = capsys.readouterr().err
    last = [line for line in err.splitlines() if line.strip()][-1]
    assert "refused the fine-tuning job (HTTP 403" in " ".join(err.split())
    assert "pricebench finetune lora" in " ".join(err.split())
    assert "Traceback" not in err and last


def test_fit_refuses_before_uploading_once_closed_to_everyone(tmp_path, course, monkeypatch):
    from datetime import date

    from pricebench.finetune import FineTuneError

    api = FineTuningAPI()
    monkeypatch.setattr(finetune_module, "_today", lambda: date(2027, 1, 6))
    model = OpenAIFineTuned(client=api.client(), state_dir=tmp_path, verbose=False)
    with pytest.raises(FineTuneError, match="pricebench finetune lora"):
        model.fit(course[0][:12])
    assert api.paths == []

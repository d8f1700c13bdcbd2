"""`pricebench run --batch` and `pricebench batch status|collect|cancel` on mock batch APIs."""

from __future__ import annotations

import json

import pytest

from pricebench.batch import BatchOptions
from pricebench.chat.openai import OpenAIPricer
from pricebench.cli import main
from pricebench.results import Results
from tests.batch_servers import OpenAIBatchServer


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "items.jsonl"
    with path.open("w") as file:
        for n in range(1, 9):
            split = "test" if n <= 4 else "train"
            item = {"id": f"i{n}", "title": f"Thing {n}", "text": f"Thing {n}", "price": 2.0 * n}
            file.write(json.dumps({**item, "split": split}) + "\n")
    return path


@pytest.fixture
def server(monkeypatch, tmp_path):
    """Every pricer the CLI makes talks to one mock server, as the real one would."""
    server = OpenAIBatchServer(statuses=("validating", *["in_progress"] * 3, "completed"))
    made = []

    def make_pricer(spec, **options):
        assert spec == "openai:gpt-4o-mini"
        pricer = OpenAIPricer(
            "gpt-4o-mini", client=server.client(), cache=tmp_path / "cache.sqlite", **options
        )
        # The first pricer stands for a user who closes the laptop once the batch is sent.
        pricer.batch_options = BatchOptions(poll_interval=0, quiet=True, wait=bool(made))
        made.append(pricer)
        return pricer

    monkeypatch.setattr("pricebench.cli.run.make_pricer", make_pricer)
    monkeypatch.setattr("pricebench.cli.batch.make_pricer", make_pricer)
    return server


def test_run_batch_then_status_then_collect(tmp_path, data, server, capsys):
    out = tmp_path / "results"
    # Submitted, not yet priced: the run is "stopped" until collected, so exit code 3.
    assert (
        main(["run", "openai:gpt-4o-mini", "--batch", "--data", str(data), "--out", str(out)]) == 3
    )
    run = out / "openai_gpt-4o-mini"
    assert Results.load(run).header.status == "stopped"
    assert server.count("POST", "create") == 1
    capsys.readouterr()

    assert main(["batch", "status", str(run)]) == 0
    shown = capsys.readouterr().out
    assert "batch_1" in shown and "in_progress" in shown and "0 priced" in shown

    assert main(["batch", "collect", str(run), "--poll", "0"]) == 0
    assert "n=4 failed=0" in capsys.readouterr().out
    results = Results.load(run)
    assert results.complete and results.header.mode == "batch"
    assert sorted(r.guess for r in results.records) == [1.99, 2.99, 3.99, 4.99]
    assert server.count("POST", "create") == 1 and server.count("POST", "upload") == 1


def test_cancel_then_collect_keeps_the_finished_part(tmp_path, data, server, capsys):
    server.finished = 0.5
    out = tmp_path / "results"
    main(["run", "openai:gpt-4o-mini", "--batch", "--data", str(data), "--out", str(out)])
    run = out / "openai_gpt-4o-mini"
    assert main(["batch", "cancel", str(run)]) == 0
    assert "batch_1" in capsys.readouterr().err
    assert main(["batch", "collect", str(run), "--poll", "0"]) == 0
    results = Results.load(run)
    assert results.n_priced == 2 and results.n_failed == 2
    assert all("batch_cancelled" in r.failure for r in results.failures)
    assert "--retry-failures" in capsys.readouterr().out


def test_batch_commands_on_a_run_without_batches_fail_clearly(tmp_path, capsys):
    assert main(["batch", "status", str(tmp_path)]) == 2
    assert "no batches here" in capsys.readouterr().err


def test_run_batch_with_a_pricer_that_has_no_batch_api_fails_clearly(tmp_path, data, capsys):
    args = ["run", "constant", "--batch", "--data", str(data), "--out", str(tmp_path / "r")]
    assert main(args) == 2
    assert "has no batch mode" in capsys.readouterr().err

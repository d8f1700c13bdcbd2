"""Batch mode through the real SDK clients, against mock batch APIs run as state machines."""

from __future__ import annotations

import json

import httpx2
import pytest

from pricebench import Item, Tester
from pricebench.batch import (
    BatchOptions,
    cancel_batches,
    custom_id,
    read_state,
    refresh_status,
    run_items,
)
from pricebench.chat import costs
from pricebench.chat.anthropic import AnthropicPricer
from pricebench.chat.cache import ResponseCache, cache_key
from pricebench.chat.openai import OpenAIPricer
from pricebench.errors import PricerError
from pricebench.results import Results
from tests.batch_servers import (
    AnthropicBatchServer,
    Crash,
    Error,
    OpenAIBatchServer,
    item_number,
)

ITEMS = [
    Item(id=f"i{n}", title=f"Thing {n}", text=f"Title: Thing {n}\nA useful thing.", price=10.0 * n)
    for n in range(1, 6)
]
FAST = BatchOptions(poll_interval=0, quiet=True)


def openai_pricer(server: OpenAIBatchServer, tmp_path, **options) -> OpenAIPricer:
    pricer = OpenAIPricer(
        "gpt-4o-mini", client=server.client(), cache=tmp_path / "cache.sqlite", max_retries=0
    )
    pricer.batch_options = BatchOptions(**{**FAST.__dict__, **options})
    return pricer


def anthropic_pricer(server: AnthropicBatchServer, tmp_path, **options) -> AnthropicPricer:
    pricer = AnthropicPricer(
        "claude-haiku-4-5", client=server.client(), cache=tmp_path / "cache.sqlite"
    )
    pricer.batch_options = BatchOptions(**{**FAST.__dict__, **options})
    return pricer


def run(pricer, tmp_path, items=ITEMS, **options) -> Results:
    return Tester(
        pricer, items, out=tmp_path / "run", mode="batch", progress=False, **options
    ).run()


def by_id(results: Results):
    return {r.id: r for r in results.records}


def test_openai_batch_goes_through_every_status_and_prices_at_half_cost(tmp_path):
    server = OpenAIBatchServer()
    pricer = openai_pricer(server, tmp_path)
    results = run(pricer, tmp_path)

    assert results.n_priced == 5 and results.n_failed == 0
    assert results.header.mode == "batch" and results.complete
    for record in results.records:
        assert record.guess == int(record.title.split()[-1]) + 0.99
        assert (record.input_tokens, record.output_tokens) == (100, 4)
        full = costs.cost("gpt-4o-mini", 100, 4)
        assert full > 0 and record.cost == pytest.approx(full / 2)
    # one upload, one batch, polled through validating -> in_progress -> finalizing -> completed
    assert server.count("POST", "upload") == 1 and server.count("POST", "create") == 1
    assert server.count("GET", "retrieve") == 3
    assert [b.record["status"] for b in server.batches.values()] == ["completed"]
    # the uploaded lines carry the interactive pricer's own request bodies, keyed by item id
    lines = [json.loads(x) for x in server.files["file-1"].decode().splitlines()]
    assert [line["custom_id"] for line in lines] == [item.id for item in ITEMS]
    assert [line["body"] for line in lines] == [pricer.request(item) for item in ITEMS]
    assert all(line["url"] == "/v1/chat/completions" for line in lines)
    state = read_state(tmp_path / "run")
    assert [job.batch_id for job in state.jobs] == ["batch_1"]
    assert state.jobs[0].collected and state.jobs[0].input_file_id == "file-1"
    # nothing written holds the API key
    written = [f for f in (tmp_path / "run").rglob("*") if f.is_file()]
    assert len(written) >= 6 and not any(b"sk-test" in f.read_bytes() for f in written)
    # the results are an ordinary run: it reloads the same
    assert Results.load(tmp_path / "run").mean_error == pytest.approx(results.mean_error)


def test_requests_in_the_error_file_become_failures_and_are_retried_interactively(tmp_path):
    def answer(cid, body):
        return Error("max_tokens is too large") if cid in ("i2", "i4") else f"${item_number(body)}"

    server = OpenAIBatchServer(answer)
    results = run(openai_pricer(server, tmp_path), tmp_path)
    records = by_id(results)
    assert results.n_failed == 2 and results.n_priced == 3
    assert "HTTP 400: max_tokens is too large" in records["i2"].failure
    assert records["i2"].cost == 0 and records["i1"].guess == 1.0

    server.answer = lambda cid, body: f"Price is ${item_number(body)}"
    pricer = openai_pricer(server, tmp_path)
    retried = Tester(
        pricer, ITEMS, out=tmp_path / "run", resume="retry-failures", progress=False
    ).run()
    assert retried.n_failed == 0 and by_id(retried)["i4"].guess == 4.0
    assert server.count("POST", "chat") == 2  # only the two failures went interactively


def test_a_failed_batch_fails_each_item_with_the_reason(tmp_path):
    server = OpenAIBatchServer(statuses=("validating", "failed"), fail_message="bad line")
    results = run(openai_pricer(server, tmp_path), tmp_path)
    assert results.n_failed == 5
    assert all("failed" in r.failure and "bad line" in r.failure for r in results.records)
    assert server.count("GET", "content") == 0


def test_an_expired_batch_keeps_the_work_it_finished(tmp_path):
    server = OpenAIBatchServer(statuses=("validating", "in_progress", "expired"), finished=0.6)
    results = run(openai_pricer(server, tmp_path), tmp_path)
    records = by_id(results)
    assert [records[f"i{n}"].failed for n in range(1, 6)] == [False, False, False, True, True]
    assert "batch_expired" in records["i5"].failure


def test_requests_over_the_per_batch_limit_are_split(tmp_path):
    server = OpenAIBatchServer()
    results = run(openai_pricer(server, tmp_path, max_requests=2), tmp_path)
    assert results.n_priced == 5
    assert server.count("POST", "upload") == 3 and server.count("POST", "create") == 3
    sizes = [len(b.lines) for b in server.batches.values()]
    assert sizes == [2, 2, 1]
    assert [job.n_requests for job in read_state(tmp_path / "run").jobs] == [2, 2, 1]


def test_a_crash_between_create_and_collect_loses_nothing(tmp_path):
    server = OpenAIBatchServer()

    def die():
        raise Crash()

    server.hooks[("GET", "retrieve")] = die
    with pytest.raises(Crash):
        run(openai_pricer(server, tmp_path), tmp_path)
    state = read_state(tmp_path / "run")
    assert state.jobs[0].batch_id == "batch_1" and not state.jobs[0].collected
    assert Results.load(tmp_path / "run").header.status == "interrupted"

    # a new process: new pricer, new client, the same run directory
    results = run(openai_pricer(server, tmp_path), tmp_path)
    assert results.n_priced == 5 and results.complete
    assert server.count("POST", "upload") == 1 and server.count("POST", "create") == 1


def test_a_batch_created_while_the_process_died_is_found_not_made_twice(tmp_path):
    server = OpenAIBatchServer()

    def die():
        raise Crash()

    server.after_hooks[("POST", "create")] = die  # created at the provider, id never saved
    with pytest.raises(Crash):
        run(openai_pricer(server, tmp_path), tmp_path)
    assert read_state(tmp_path / "run").jobs[0].batch_id is None

    results = run(openai_pricer(server, tmp_path), tmp_path)
    assert results.n_priced == 5
    assert len(server.batches) == 1 and server.count("POST", "upload") == 1
    assert read_state(tmp_path / "run").jobs[0].batch_id == "batch_1"


def test_cached_items_are_not_sent_and_batch_replies_fill_the_cache(tmp_path):
    server = OpenAIBatchServer()
    pricer = openai_pricer(server, tmp_path)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    for item in ITEMS[:2]:
        key = cache_key("openai", "gpt-4o-mini", pricer.request(item))
        cache.put(key, {"choices": [{"message": {"content": "$123"}}], "usage": {}})

    records = by_id(run(pricer, tmp_path))
    assert records["i1"].cached and records["i1"].guess == 123.0 and records["i1"].cost == 0
    assert not records["i3"].cached and records["i3"].cost > 0
    lines = server.files["file-1"].decode().splitlines()
    assert [json.loads(x)["custom_id"] for x in lines] == ["i3", "i4", "i5"]

    # an interactive run now finds every answer in the cache and calls nothing
    before = len(server.calls)
    again = Tester(openai_pricer(server, tmp_path), ITEMS, progress=False).run()
    assert all(r.cached for r in again.records) and len(server.calls) == before
    assert by_id(again)["i3"].guess == 3.99


def test_anthropic_batch_with_mixed_result_types(tmp_path):
    def answer(cid, params):
        assert params["messages"][-1] == {"role": "assistant", "content": "Price is $"}
        return Error("prompt is too long") if cid == "i2" else f"{item_number(params)}.50"

    server = AnthropicBatchServer(answer, expire=lambda cid: cid == "i3")
    pricer = anthropic_pricer(server, tmp_path)
    results = run(pricer, tmp_path)
    records = by_id(results)
    assert records["i1"].guess == 1.5 and records["i5"].guess == 5.5
    assert "invalid_request_error: prompt is too long" in records["i2"].failure
    assert "expired" in records["i3"].failure
    assert records["i1"].cost == pytest.approx(
        costs.cost("claude-haiku-4-5", 100, 4, provider="anthropic") / 2
    )
    assert server.count("POST", "create") == 1 and server.count("GET", "results") == 1
    sent = server.batches["msgbatch_01"].lines
    assert [r["params"] for r in sent] == [pricer.request(item) for item in ITEMS]
    assert read_state(tmp_path / "run").jobs[0].counts["succeeded"] == 3


def test_anthropic_no_wait_then_cancel_then_collect(tmp_path):
    server = AnthropicBatchServer(statuses=("in_progress",) * 10 + ("ended",))
    pricer = anthropic_pricer(server, tmp_path, wait=False)
    stopped = run(pricer, tmp_path)
    assert stopped.header.status == "stopped" and not stopped.records
    assert "pricebench batch collect" in stopped.header.note

    state = refresh_status(pricer, tmp_path / "run")
    assert state.jobs[0].status == "in_progress"
    assert cancel_batches(pricer, tmp_path / "run") == ["msgbatch_01"]

    # collecting needs no item texts: the run's manifest has ids, titles and prices
    items = run_items(tmp_path / "run")
    assert sorted(i.id for i in items) == [i.id for i in ITEMS]
    collected = run(anthropic_pricer(server, tmp_path), tmp_path, items=items)
    assert collected.complete and collected.n_priced == 2 and collected.n_failed == 3
    assert "canceled" in by_id(collected)["i5"].failure
    assert server.count("POST", "create") == 1


def test_ids_the_provider_refuses_are_sent_as_hashes_and_mapped_back(tmp_path):
    items = [
        Item(id=f"sku/{n} x", title=f"Thing {n}", text=f"Thing {n}", price=float(n))
        for n in range(1, 4)
    ]
    server = AnthropicBatchServer()
    results = run(anthropic_pricer(server, tmp_path), tmp_path, items=items)
    assert results.n_priced == 3 and by_id(results)["sku/2 x"].guess == 2.99
    sent = [r["custom_id"] for r in server.batches["msgbatch_01"].lines]
    assert sent == [custom_id(i.id) for i in items] and all(c.startswith("h-") for c in sent)


def test_duplicate_item_ids_are_refused(tmp_path):
    server = OpenAIBatchServer()
    with pytest.raises(PricerError, match="appears twice"):
        run(openai_pricer(server, tmp_path), tmp_path, items=[ITEMS[0], ITEMS[0]])
    assert server.calls == []


def test_a_pricer_without_a_batch_api_is_refused(tmp_path):
    from pricebench.batch import backend_for

    class Local:
        provider = "ollama"
        name = "local"

    with pytest.raises(PricerError, match="no batch API"):
        backend_for(Local())


def test_an_api_error_is_one_clear_error_and_the_run_resumes(tmp_path):
    server = OpenAIBatchServer()

    def network_down():
        raise httpx2.ConnectError("network is unreachable")

    server.hooks[("GET", "retrieve")] = network_down
    with pytest.raises(PricerError, match="checking batch batch_1.*Nothing is lost"):
        run(openai_pricer(server, tmp_path), tmp_path)
    results = run(openai_pricer(server, tmp_path), tmp_path)
    assert results.n_priced == 5 and len(server.batches) == 1


def test_a_crash_after_upload_resumes_without_uploading_again(tmp_path):
    server = OpenAIBatchServer()

    def die():
        raise Crash()

    server.hooks[("POST", "create")] = die  # the upload is saved, the batch never made
    with pytest.raises(Crash):
        run(openai_pricer(server, tmp_path), tmp_path)
    assert read_state(tmp_path / "run").jobs[0].input_file_id == "file-1"
    results = run(openai_pricer(server, tmp_path), tmp_path)
    assert results.n_priced == 5
    assert server.count("POST", "upload") == 1 and len(server.batches) == 1


def test_retrying_failures_in_batch_mode_sends_only_them_in_a_new_batch(tmp_path):
    server = OpenAIBatchServer(lambda cid, body: Error() if cid == "i3" else "$5")
    first = run(openai_pricer(server, tmp_path), tmp_path)
    assert first.n_failed == 1
    server.answer = lambda cid, body: "$7"
    again = run(openai_pricer(server, tmp_path), tmp_path, resume="retry-failures")
    assert again.n_failed == 0 and by_id(again)["i3"].guess == 7.0
    assert by_id(again)["i1"].guess == 5.0  # kept from the first batch
    assert [len(b.lines) for b in server.batches.values()] == [5, 1]
    assert [job.n_requests for job in read_state(tmp_path / "run").jobs] == [5, 1]


def test_anthropic_crash_between_create_and_save_finds_the_batch_instead_of_paying_twice(
    tmp_path,
):
    server = AnthropicBatchServer()

    def die():
        raise Crash()

    server.after[("POST", "create")] = die
    with pytest.raises(Crash):
        run(anthropic_pricer(server, tmp_path), tmp_path)
    assert server.count("POST", "create") == 1
    results = run(anthropic_pricer(server, tmp_path), tmp_path)
    assert server.count("POST", "create") == 1  # looked up, not created again
    assert server.count("GET", "list") == 1
    assert results.n_priced == len(ITEMS)


def test_responses_api_lines_go_to_the_responses_endpoint(tmp_path):
    from pricebench.batch.runner import backend_for

    client = OpenAIBatchServer().client()
    pricer = OpenAIPricer("gpt-4o-mini", client=client, cache=False, api="responses")
    backend = backend_for(pricer)
    line = backend.line("i1", pricer.request(ITEMS[0]))
    assert line["url"] == "/v1/responses" and "input" in line["body"]
    chat = backend_for(OpenAIPricer("gpt-4o-mini", client=client, cache=False))
    assert chat.line("i1", {})["url"] == "/v1/chat/completions"

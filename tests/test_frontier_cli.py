"""`pricebench run openai:...` end to end, the SDK answered by a mock endpoint."""

from __future__ import annotations

import pytest

from pricebench.chat.openai import OpenAIPricer
from pricebench.cli import main
from pricebench.results import Results
from tests.conftest import COURSE_ITEMS
from tests.mock_api import MockAPI, openai_client, openai_reply

pytestmark = pytest.mark.skipif(not COURSE_ITEMS.exists(), reason="shared data not present")
SECRET = "sk-proj-cli-SECRET-0000"


@pytest.fixture
def api(monkeypatch, tmp_path) -> MockAPI:
    api = MockAPI(default=openai_reply("Price is $99.00", prompt_tokens=150, completion_tokens=3))
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("PRICEBENCH_CACHE", str(tmp_path / "cache.sqlite"))
    monkeypatch.setattr(
        OpenAIPricer, "_make_client", lambda self, key: openai_client(api, api_key=key)
    )
    return api


def run(tmp_path, *extra: str) -> int:
    out = tmp_path / "results"
    base = ["run", "openai:gpt-4o-mini", "--data", str(COURSE_ITEMS), "--size", "6"]
    return main([*base, "--out", str(out), "--workers", "3", *extra])


def test_run_prices_caches_and_no_cache_asks_again(tmp_path, api):
    assert run(tmp_path) == 0
    assert api.count == 6
    results = Results.load(tmp_path / "results" / "openai_gpt-4o-mini")
    assert results.n_priced == 6 and results.header.params["model"] == "gpt-4o-mini"
    assert results.header.totals["input_tokens"] == 900
    assert results.header.totals["cost"] == pytest.approx(6 * (150 * 0.15 + 3 * 0.6) / 1e6)

    assert run(tmp_path, "--overwrite") == 0  # a fresh run, answered from the cache
    assert api.count == 6
    again = Results.load(tmp_path / "results" / "openai_gpt-4o-mini")
    assert all(r.cached for r in again.records) and again.header.totals["cost"] == 0

    assert run(tmp_path, "--overwrite", "--no-cache") == 0
    assert api.count == 12

    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        assert SECRET.encode() not in path.read_bytes(), path


def test_missing_key_is_one_clear_error_before_any_item(tmp_path, api, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY")
    assert run(tmp_path) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err
    assert api.count == 0
    assert not (tmp_path / "results").exists()


def test_no_cache_leaves_pricers_without_a_cache_alone(tmp_path):
    args = ["run", "constant", "--data", str(COURSE_ITEMS), "--size", "5"]
    assert main([*args, "--out", str(tmp_path / "r"), "--no-cache"]) == 0


def test_base_url_points_openai_pricers_at_a_proxy_and_keeps_openai_rules(tmp_path, api):
    # `openai:` with --base-url is OpenAI's API behind another address: the user chose to send
    # their OpenAI key there, and the model keeps OpenAI's rules. The header records the
    # endpoint without the credentials in the URL; the cache never mixes endpoints.
    url = "https://user:pw@proxy.example/v1?api-key=abc123"
    assert run(tmp_path, "--base-url", url) == 0
    assert api.count == 6
    assert api.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    runs = list((tmp_path / "results").iterdir())
    results = Results.load(runs[0])
    endpoint = results.header.params["endpoint"]
    assert endpoint.startswith("https://proxy.example/v1") and "pw" not in endpoint
    assert "abc123" not in endpoint
    assert "max_completion_tokens" in api.bodies[0]
    assert run(tmp_path, "--overwrite") == 0  # the default endpoint: not answered from the cache
    assert api.count == 12


def test_prompt_from_a_json_file_on_the_command_line(tmp_path, api):
    prompt = tmp_path / "prompt.json"
    prompt.write_text('{"system": "Guess.", "user": "{title}?", "prefill": null}')
    assert run(tmp_path, "--param", f"prompt={prompt}") == 0
    assert api.bodies[0]["messages"][0] == {"role": "system", "content": "Guess."}
    assert len(api.bodies[0]["messages"]) == 2


def test_retrieval_context_from_the_command_line(tmp_path, api):
    assert run(tmp_path, "--param", "context=tfidf:2") == 0
    user = api.bodies[0]["messages"][1]["content"]
    assert user.startswith("To provide some context")
    assert user.count("Potentially related product:") == 2


def test_base_url_where_it_does_not_apply_is_an_error(tmp_path, api, capsys):
    args = ["run", "openai-compatible:m@http://127.0.0.1:1/v1", "--base-url", "http://x/v1"]
    assert main([*args, "--data", str(COURSE_ITEMS), "--out", str(tmp_path)]) == 2
    assert "--base-url does not apply" in capsys.readouterr().err
    assert main(["run", "constant", "--base-url", "http://x/v1", "--data", str(COURSE_ITEMS),
                 "--out", str(tmp_path)]) == 2  # fmt: skip


def test_a_negative_size_is_refused(tmp_path, capsys):
    assert main(["run", "constant", "--size", "-3", "--data", str(COURSE_ITEMS),
                 "--out", str(tmp_path)]) == 2  # fmt: skip
    assert "size must be at least 1" in capsys.readouterr().err


def test_the_run_summary_shows_cached_prompt_tokens_and_the_cost(tmp_path, api, capsys):
    reply = openai_reply("Price is $99.00", prompt_tokens=2_000, completion_tokens=3)
    reply["usage"]["prompt_tokens_details"] = {"cached_tokens": 1_536, "audio_tokens": 0}
    api.default = reply
    assert run(tmp_path, "--no-cache") == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "12,000 input tokens (9,216 cached), 18 output; cost USD" in err
    results = Results.load(tmp_path / "results" / "openai_gpt-4o-mini")
    assert [r.cache_read_tokens for r in results.records] == [1_536] * 6

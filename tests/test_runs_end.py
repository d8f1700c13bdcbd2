"""Runs that always end: a hung server stops a run, each item has a deadline across its retries,
and credentials given in a URL never reach run.json or the console, in any form."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pricebench import Item, Tester
from pricebench.chat.config import ChatConfig
from pricebench.chat.openai import OpenAIPricer
from pricebench.cli import main
from pricebench.results import read_run
from tests.conftest import COURSE_ITEMS

ITEMS = [
    Item(id=f"h{n}", title=f"Widget {n}", text=f"Title: Widget {n}\nUseful.", price=40.0 + n)
    for n in range(30)
]


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with an error whose body echoes the Authorization header, as some
    gateways do."""

    status = 500
    calls: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        self.rfile.read(int(self.headers["content-length"]))
        self.calls.append(self.path)
        seen = self.headers.get("authorization")
        body = json.dumps({"error": {"message": f"upstream refused {seen}", "code": None}})
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def echo_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_default_deadline_is_a_few_timeouts():
    assert ChatConfig().item_deadline == 3 * ChatConfig().timeout
    assert ChatConfig(timeout=10).item_deadline == 30
    assert ChatConfig(timeout=10, deadline=12).item_deadline == 12


def test_a_hung_server_stops_the_run_naming_the_endpoint(hung_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-hung")
    pricer = OpenAIPricer("gpt-4o-mini", base_url=hung_server, cache=False, timeout=0.3)
    results = Tester(pricer, ITEMS, workers=4).run()
    assert results.header.status == "stopped"
    assert hung_server.removeprefix("http://").removesuffix("/v1") in (results.header.note or "")
    assert "in a row" in (results.header.note or "")
    assert len(results.records) < len(ITEMS)  # it stopped, it did not wait out every item
    # Stopped after a few unanswered attempts in all, not after every retry of three items
    # (3 x 6 attempts): counted in connections, not seconds.
    assert len(hung_server.held) < 3 * 6


@pytest.mark.skipif(not COURSE_ITEMS.exists(), reason="shared data not present")
def test_the_cli_exits_3_on_a_hung_server(hung_server, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-hung")
    monkeypatch.setenv("PRICEBENCH_CACHE", str(tmp_path / "cache.sqlite"))
    code = main(
        [
            "run",
            "openai:gpt-4o-mini",
            "--data",
            str(COURSE_ITEMS),
            "--size",
            "30",
            "--workers",
            "4",
            "--base-url",
            hung_server,
            "--param",
            "timeout=0.3",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 3
    assert "no answer from http://127.0.0.1:" in capsys.readouterr().err
    assert len(hung_server.held) < 3 * 6


def test_each_item_has_a_deadline_across_its_retries(echo_server, monkeypatch):
    # 500s are retried; 50 retries with backoff would take minutes. The deadline ends the item.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-deadline")
    url = f"http://127.0.0.1:{echo_server}/v1"
    pricer = OpenAIPricer(
        "gpt-4o-mini", base_url=url, cache=False, timeout=1.0, deadline=1.0, max_retries=50
    )
    monkeypatch.setattr(_Echo, "calls", [])
    with pytest.raises(Exception, match="upstream refused"):
        pricer.estimate(ITEMS[0])
    assert 1 <= len(_Echo.calls) < 51  # ended by the deadline, not by the retry count


@pytest.mark.parametrize("status", [401, 500])
def test_url_credentials_are_redacted_in_every_form(
    echo_server, monkeypatch, tmp_path, status, capsys
):
    monkeypatch.setattr(_Echo, "status", status)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-redact")
    password = "pa55-KEY-in-url-77"
    url = f"http://someone:{password}@127.0.0.1:{echo_server}/v1"
    basic = base64.b64encode(f"someone:{password}".encode()).decode()
    pricer = OpenAIPricer(
        "gpt-4o-mini", base_url=url, cache=False, timeout=2.0, deadline=2.0, max_retries=0
    )
    out = tmp_path / "run"
    Tester(pricer, ITEMS[:6], out=out).run()
    written = "".join(path.read_text() for path in out.iterdir() if path.is_file())
    run = read_run(out)
    assert run.header.status == "stopped"
    assert "[redacted]" in (run.header.note or "")  # the echo was there, and was redacted
    shown = capsys.readouterr().err  # the console's "run stopped: ..." line
    assert "run stopped" in shown
    for form in (password, basic, basic.rstrip("="), "someone:"):
        assert form not in written and form not in shown
    assert "Basic " not in written or "Basic [redacted]" in written

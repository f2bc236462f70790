"""The optional LLM juror against a local mock OpenAI-compatible server (127.0.0.1)."""

import json

import pytest

from copilot_lab.agents.base import AGENTS
from copilot_lab.agents.llm import LlmAgent, parse_answer
from copilot_lab.anomaly import CaseView
from copilot_lab.faults.base import FAULTS
from copilot_lab.llm_mock import make_app
from copilot_lab.world import Injection, SimConfig, simulate
from sysai.errors import UserError
from sysai.http import serve_in_thread


@pytest.fixture
def view(shop):
    inj = Injection("disk_io", shop.index["cart"], 1.0, 120, FAULTS.get("disk_io")().effect(1.0))
    tel = simulate(shop, inj, SimConfig(decoy_rate=0.0), 5)
    return CaseView(tel, shop.graph, float(tel.time[120]))


@pytest.mark.timeout(60)
def test_llm_juror_round_trip_with_mock_server(view):
    findings = [AGENTS.get(a)().rank(view) for a in ("metric", "trace", "log")]
    with serve_in_thread(make_app()) as url:
        assert url.startswith("http://127.0.0.1:")
        finding = LlmAgent(url, "mock", findings).rank(view)
    assert view.names[finding.ranking()[0]] == "cart"
    assert finding.strength > 0 and "LLM:" in next(iter(finding.evidence.values()))


@pytest.mark.timeout(60)
def test_mock_server_rejects_malformed_requests_and_client_reports_errors(view):
    import asyncio

    import aiohttp

    async def post(url, payload):
        async with aiohttp.ClientSession() as s:
            async with s.post(url + "/v1/chat/completions", data=payload) as r:
                return r.status, await r.text()

    with serve_in_thread(make_app()) as url:
        status, text = asyncio.run(post(url, "not json"))
        assert status == 400 and "expected a chat request" in text
        odd = json.dumps({"messages": [{"role": "user", "content": json.dumps({"jurors": {"x": [{"who": 1}]}})}]})
        assert asyncio.run(post(url, odd))[0] == 400  # a case without services: 400, not a crash
        with pytest.raises(UserError, match="HTTP 404"):
            LlmAgent(url + "/nope", "mock").rank(view)
    with pytest.raises(UserError, match="cannot reach"):
        LlmAgent(url, "mock", timeout_s=2).rank(view)  # the server is stopped now


def test_parse_answer_ignores_invented_services_and_rejects_prose():
    answer = {
        "choices": [
            {
                "message": {
                    "content": json.dumps(
                        {
                            "ranking": [{"service": "cart", "score": 0.7}, {"service": "mainframe", "score": 0.3}],
                            "reason": "r",
                        }
                    )
                }
            }
        ]
    }
    scores, reason = parse_answer(answer, ["frontend", "cart"])
    assert scores.tolist() == [0.0, 0.7] and reason == "r"
    with pytest.raises(UserError, match="not the JSON ranking"):
        parse_answer({"choices": [{"message": {"content": "I think it is cart."}}]}, ["cart"])


def test_llm_juror_without_url_stays_silent(view):
    assert LlmAgent().rank(view).strength == 0

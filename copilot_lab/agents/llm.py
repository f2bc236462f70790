"""An optional LLM juror: ask any OpenAI-compatible chat endpoint to rank the suspects.

Off by default and never needed: ``sysai copilot diagnose --llm-url URL`` adds it. The prompt
is the case in a compact form — the other jurors' top suspects with their evidence, and the
most anomalous metrics — and the model must answer with JSON
``{"ranking": [{"service": ..., "score": 0..1}], "reason": "..."}``; services it invents are
ignored. This mirrors how EulerCopilot puts an LLM planner over the classic detectors: the
detectors find the evidence, the model reasons over it. Tested against a local mock server
(:mod:`copilot_lab.llm_mock`).
"""

from __future__ import annotations

import asyncio
import json
import os

import numpy as np

from copilot_lab.agents.base import AGENTS, Agent, Finding
from copilot_lab.anomaly import CaseView
from sysai.errors import UserError

SYSTEM_PROMPT = (
    "You are a site-reliability engineer doing root-cause analysis of a microservice incident. "
    "Given the evidence, answer ONLY with JSON: "
    '{"ranking": [{"service": "<name>", "score": <0..1>}], "reason": "<one sentence>"}.'
)


def build_prompt(view: CaseView, findings: list[Finding], top: int = 3) -> dict:
    """The case as the model sees it (also what the mock server reads)."""
    jurors = {
        f.agent: [
            {"service": view.names[i], "share": round(float(f.distribution()[i]), 3), "evidence": f.evidence.get(i, "")}
            for i in f.ranking()[:top]
            if f.scores[i] > 0
        ]
        for f in findings
        if f.strength > 0
    }
    anomalies = []
    z = view.metric_z()
    if z is not None:
        flat = np.argsort(-np.nan_to_num(z, nan=0.0), axis=None)[:8]
        for s, k in zip(*np.unravel_index(flat, z.shape)):
            anomalies.append(
                {"service": view.names[s], "metric": view.telemetry.kinds[k], "z": round(float(z[s, k]), 1)}
            )
    return {"services": view.names, "jurors": jurors, "metric_anomalies": anomalies}


async def _ask(url: str, model: str, prompt: dict, timeout_s: float) -> dict:
    import aiohttp

    headers = {"Content-Type": "application/json"}
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body = {
        "model": model,
        "temperature": 0,
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": json.dumps(prompt)}],
    }
    endpoint = url.rstrip("/") + "/v1/chat/completions"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
            async with session.post(endpoint, json=body, headers=headers) as response:
                text = await response.text()
                if response.status != 200:
                    raise UserError(f"LLM endpoint {endpoint} answered HTTP {response.status}: {text[:200]}")
                return json.loads(text)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise UserError(f"cannot reach the LLM endpoint {endpoint}: {exc or type(exc).__name__}") from None
    except json.JSONDecodeError:
        raise UserError(f"LLM endpoint {endpoint} did not answer JSON") from None


def parse_answer(answer: dict, names: list[str]) -> tuple[np.ndarray, str]:
    """Scores per service from an OpenAI-style chat completion whose content is our JSON."""
    try:
        content = answer["choices"][0]["message"]["content"]
        data = json.loads(content.strip().removeprefix("```json").removesuffix("```"))
        ranking = data["ranking"]
    except (KeyError, IndexError, TypeError, json.JSONDecodeError):
        raise UserError("the LLM answer is not the JSON ranking that was asked for") from None
    scores = np.zeros(len(names))
    for item in ranking:
        if isinstance(item, dict) and item.get("service") in names:
            try:
                scores[names.index(item["service"])] = max(float(item.get("score", 0)), 0.0)
            except (TypeError, ValueError):
                continue
    return scores, str(data.get("reason", ""))


@AGENTS.register("llm")
class LlmAgent(Agent):
    def __init__(
        self,
        url: str | None = None,
        model: str = "gpt-4o-mini",
        findings: list[Finding] | None = None,
        timeout_s: float = 60.0,
        *,
        seed: int = 0,
        config=None,
    ):
        super().__init__(seed=seed, config=config)
        self.url, self.model, self.findings, self.timeout_s = url, model, findings or [], timeout_s

    def rank(self, view: CaseView) -> Finding:
        if not self.url:
            return Finding.empty("llm", view.n)
        answer = asyncio.run(_ask(self.url, self.model, build_prompt(view, self.findings), self.timeout_s))
        scores, reason = parse_answer(answer, view.names)
        top = int(np.argmax(scores))
        evidence = {top: f"LLM: {reason}"} if scores.any() else {}
        return Finding("llm", scores, 0.5 if scores.any() else 0.0, evidence)

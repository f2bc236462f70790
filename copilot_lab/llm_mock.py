"""A local stand-in for an OpenAI-compatible chat endpoint, for tests and offline demos.

``POST /v1/chat/completions`` reads the case the LLM juror sent (:func:`build_prompt`'s JSON in
the last user message) and answers like a cautious engineer would: the service most jurors put
first wins. Malformed requests get HTTP 400 with a message; the server never crashes.
"""

from __future__ import annotations

import json
from collections import Counter

from aiohttp import web


def _answer(prompt: dict) -> dict:
    votes: Counter = Counter()
    for suspects in prompt.get("jurors", {}).values():
        for rank, s in enumerate(suspects):
            votes[s["service"]] += 1.0 / (rank + 1)
    total = sum(votes.values()) or 1.0
    ranking = [{"service": s, "score": round(v / total, 3)} for s, v in votes.most_common(5)]
    reason = f"{ranking[0]['service']} is the jurors' common first choice" if ranking else "no evidence"
    return {"ranking": ranking, "reason": reason}


async def chat(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        content = body["messages"][-1]["content"]
        answer = _answer(json.loads(content))
    except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
        return web.json_response(
            {"error": {"message": "expected a chat request whose last message is the case JSON"}}, status=400
        )
    reply = {
        "id": "mock-1",
        "object": "chat.completion",
        "model": body.get("model", "mock"),
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": json.dumps(answer)}}
        ],
    }
    return web.json_response(reply)


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app

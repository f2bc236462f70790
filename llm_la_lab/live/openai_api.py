"""The slice of the OpenAI HTTP API the engines, the proxy and the replayer share.

Token counts of text are approximated by whitespace-separated words: the mock engines have no
tokenizer, and the replayer builds prompts of exactly N words for an N-token trace row.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web

from sysai.http import readable_json

COMPLETIONS = "/v1/completions"
CHAT = "/v1/chat/completions"
PREDICTED_HEADER = "x-predicted-output-tokens"
DEFAULT_MAX_TOKENS = 16


def error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "code": status}}, status=status,
                             dumps=readable_json)


def count_prompt(prompt: Any) -> int:
    """Tokens of a completions ``prompt``: text (one token per word), token ids, or a list of either."""
    if isinstance(prompt, str):
        return len(prompt.split())
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt):
        return len(prompt)
    if isinstance(prompt, list) and prompt and all(isinstance(p, (str, list)) for p in prompt):
        return sum(count_prompt(p) for p in prompt)
    raise ValueError("'prompt' must be a string, a list of strings or a list of token ids")


def count_message(message: Any) -> int:
    """Tokens of one chat message: its text content, or the text parts of a multi-part content."""
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise ValueError("each of 'messages' must be an object with a 'role'")
    content = message.get("content")
    if isinstance(content, str):
        return len(content.split())
    if content is None and message["role"] == "assistant":
        return 0
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        return sum(len(str(part.get("text", "")).split()) for part in content)
    raise ValueError(f"a {message['role']!r} message needs 'content': a string or a list of parts")


def prompt_words(path: str, body: dict) -> list[str]:
    """The words of a (well-formed) request's prompt, in order: what prefix hashing looks at."""
    if path.endswith(CHAT):
        words: list[str] = []
        for m in body["messages"]:
            content = m.get("content")
            if isinstance(content, list):
                content = " ".join(str(part.get("text", "")) for part in content)
            words += [f"<{m['role']}>", *str(content or "").split()]
        return words
    prompt = body["prompt"]
    if isinstance(prompt, str):
        return prompt.split()
    if prompt and all(isinstance(t, int) for t in prompt):
        return [str(t) for t in prompt]
    return [w for p in prompt for w in (p.split() if isinstance(p, str) else map(str, p))]


def text_keys(words: list[str], block: int) -> tuple[int, ...]:
    """Hash-chain keys of the full `block`-word blocks of a prompt (llm-d's approximate prefix hashing).

    A stable digest (not Python's salted ``hash``), so a proxy and its engines in different
    processes compute the same keys for the same text.
    """
    keys = []
    previous = b""
    for start in range(0, len(words) - block + 1, block):
        digest = hashlib.blake2b(previous + "\x1f".join(words[start:start + block]).encode(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
        previous = digest
    return tuple(keys)


def too_long(limit: int, prompt: int, max_tokens: int) -> web.Response:
    """vLLM's answer to a request over ``max_model_len``: a 400 with this message."""
    return web.json_response({"error": {
        "message": f"This model's maximum context length is {limit} tokens. However, you requested "
                   f"{prompt + max_tokens} tokens ({prompt} in the messages, {max_tokens} in the completion). "
                   "Please reduce the length of the messages or completion.",
        "type": "BadRequestError", "param": None, "code": 400}}, status=400)


def parse_body(path: str, body: Any) -> tuple[int, int, bool]:
    """(prompt tokens, max output tokens, stream) of a completion request; ValueError if malformed."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    if path.endswith(CHAT):
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValueError("'messages' must be a non-empty list")
        prompt = sum(count_message(m) for m in messages)
    else:
        if "prompt" not in body:
            raise ValueError("'prompt' is required")
        prompt = count_prompt(body["prompt"])
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens", DEFAULT_MAX_TOKENS))
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError("'max_tokens' must be a positive integer")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ValueError("'stream' must be true or false")
    if not isinstance(body.get("stream_options") or {}, dict):
        raise ValueError("'stream_options' must be an object")
    return max(prompt, 1), max_tokens, stream


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    """Answer unknown paths and wrong methods (404, 405) in the OpenAI error shape, not plain text."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, f"{request.method} {request.path}: {exc.reason}")


def sse(data: Any) -> bytes:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()

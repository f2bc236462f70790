"""A small HTTP client for a running gateway (`sysai yuanrong invoke`, the notebook): every failure
becomes one :class:`~sysai.errors.UserError` line saying what went wrong and where."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from sysai.errors import TaskNotDone, UserError


def invoke(url: str, name: str, payload: Any, timeout: float = 120.0, token: str | None = None) -> dict[str, Any]:
    """POST `payload` as JSON to ``{url}/functions/{name}/invocations``; the gateway's answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{url.rstrip('/')}/functions/{name}/invocations",
        data=json.dumps(payload).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except (ValueError, AttributeError):
            message = exc.reason
        if exc.code == 501 and str(message).startswith("this needs Task "):  # a handout: the gateway's stub pointer
            raise TaskNotDone(message) from None
        raise UserError(f"{name}: HTTP {exc.code}: {message}") from None
    except urllib.error.URLError as exc:
        raise UserError(
            f"cannot reach the gateway at {url}: {exc.reason} (start it with `sysai yuanrong serve`)"
        ) from None
    except TimeoutError:
        raise UserError(f"{name}: no answer from {url} within {timeout:g} s (--timeout)") from None
    except (OSError, http.client.HTTPException) as exc:
        raise UserError(f"{name}: the connection to {url} failed: {type(exc).__name__}: {exc}") from None
    except ValueError:
        raise UserError(f"{name}: {url} answered something that is not JSON: is it a yuanrong gateway?") from None
    if not isinstance(answer, dict) or "result" not in answer:
        raise UserError(
            f"{name}: {url} answered {str(answer)[:80]!r}, not an invocation result: is it a yuanrong gateway?"
        )
    return answer

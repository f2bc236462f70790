"""Several aiohttp servers in the foreground, one port each, until Ctrl-C or SIGTERM.

``sysai.http.run_until_interrupted`` serves one app; ``serve-engines`` needs N engines that look
like N separate servers (as N vLLM instances would), so each gets its own port. Candidate for
``sysai.http`` (it reuses that module's start-up, which turns a busy port into a one-line error).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Callable, Sequence

from aiohttp import web

from sysai.http import LOOPBACK, _start


def run_all_until_interrupted(apps: Sequence[web.Application], ports: Sequence[int], host: str = LOOPBACK,
                              on_ready: Callable[[list[str]], None] | None = None) -> None:
    """Serve ``apps[i]`` on ``ports[i]`` (0 = any free port); stop them all on Ctrl-C/SIGTERM or if one fails."""

    async def main() -> None:
        runners: list[web.AppRunner] = []
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            urls = []
            for app, port in zip(apps, ports):
                runner, bound = await _start(app, host, port)
                runners.append(runner)
                urls.append(f"http://{host}:{bound}")
            for url in urls:
                print(f"serving on {url}", flush=True)
            if on_ready is not None:
                on_ready(urls)
            print("(Ctrl-C to stop)", flush=True)
            await stop.wait()
        finally:
            for runner in reversed(runners):
                await runner.cleanup()
            if runners:
                print("stopped", flush=True)

    asyncio.run(main())

"""aiohttp servers with a lifecycle that always ends: in a background thread (tests, experiments)
or in the foreground until Ctrl-C (CLI ``serve`` commands). Both bind 127.0.0.1 by default.

    with serve_in_thread(app) as url:        # url like "http://127.0.0.1:41234"
        ...                                  # the server is stopped when the block exits

    run_until_interrupted(app, port=8000)    # prints the URL, returns cleanly on Ctrl-C/SIGTERM
    run_all_until_interrupted([a, b], [0, 0]) # several servers, one port each
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

from aiohttp import web

from sysai.errors import UserError

LOOPBACK = "127.0.0.1"


def readable_json(data: object) -> str:
    """``dumps=`` for error bodies people read too (curl): non-ASCII as written, not as \\u escapes."""
    return json.dumps(data, ensure_ascii=False)


async def _start(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sockets = site._server.sockets if site._server else []  # the bound port when port=0
    return runner, sockets[0].getsockname()[1] if sockets else port


@contextmanager
def serve_in_thread(app: web.Application, host: str = LOOPBACK, port: int = 0) -> Iterator[str]:
    """Run `app` on its own event loop in a daemon thread; yield its base URL; stop on exit."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            state["runner"], state["port"] = loop.run_until_complete(_start(app, host, port))
        except BaseException as exc:  # surfaced in the caller's thread below
            state["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(state["runner"].cleanup())
        loop.close()

    thread = threading.Thread(target=run, name=f"aiohttp-{host}", daemon=True)
    thread.start()
    ready.wait()
    if "error" in state:
        thread.join()
        raise state["error"]
    try:
        yield f"http://{host}:{state['port']}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def run_until_interrupted(
    app: web.Application, host: str = LOOPBACK, port: int = 0, on_ready: Callable[[str], None] | None = None
) -> None:
    """Serve `app` in the foreground; print the URL, then call `on_ready(url)`; stop cleanly on
    Ctrl-C or SIGTERM."""
    run_all_until_interrupted([app], [port], host, None if on_ready is None else lambda urls: on_ready(urls[0]))


def run_all_until_interrupted(
    apps: Sequence[web.Application],
    ports: Sequence[int],
    host: str = LOOPBACK,
    on_ready: Callable[[list[str]], None] | None = None,
) -> None:
    """Serve ``apps[i]`` on ``ports[i]`` (0 = any free port), each a separate server, in the
    foreground; stop them all on Ctrl-C or SIGTERM, or if one cannot start."""

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
                print(f"serving on {url} (Ctrl-C to stop)", flush=True)
            if on_ready is not None:
                on_ready(urls)
            await stop.wait()
        finally:
            for runner in reversed(runners):
                await runner.cleanup()
            if runners:
                print("stopped", flush=True)

    asyncio.run(main())

"""Idle call-progress sockets on a real ``loop-server``: what the memory test
(``tests/server/test_websocket_memory.py``) and the bench (``bench/websocket_idle.py``)
both do to hold them and weigh them."""

from __future__ import annotations

import asyncio
import json
import resource
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from loop.storage import from_url
from loop.storage.calls import Call
from tests.support.waiting import DEADLINE


async def file_calls(storage_url: str, count: int, *, prefix: str) -> list[Call]:
    """``count`` calls straight into the server's storage, each with its own tokens."""
    storage = await from_url(storage_url)
    now = time.time()
    calls = [
        Call(
            call_id=f"{prefix}-{i:06d}",
            call_type="audio",
            timestamp=int(now),
            expires_at=now + 3600,
            api_key="k",
            session_id="s",
            callee_token="t",
            ws_caller_token=f"caller-{i:06d}",
            ws_callee_token=f"callee-{i:06d}",
        )
        for i in range(count)
    ]
    try:
        for call in calls:
            await storage.create_call(call, callees=[prefix], reachable_only=False, now=now)
    finally:
        await storage.close()
    return calls


async def say_hello(url: str, call: Call, *, timeout: float = DEADLINE) -> ClientConnection:
    """A caller's socket on ``call``, past its hello (subscribed, timers armed)."""
    socket = await connect(url, open_timeout=timeout, ping_interval=None)
    hello = {"messageType": "hello", "callId": call.call_id, "auth": call.ws_caller_token}
    await socket.send(json.dumps(hello))
    answer = json.loads(await asyncio.wait_for(socket.recv(), timeout))
    assert answer == {"messageType": "hello", "state": "init"}, answer
    return socket


def raise_file_limit(files: int) -> None:
    """This process holds the client side of every socket (and a server started from it
    inherits the limit): raise the soft limit to ``files``, or say why it cannot be."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < files:
        if hard != resource.RLIM_INFINITY and hard < files:
            raise RuntimeError(f"`ulimit -Hn` is {hard}: {files} files are needed")
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, hard))


def rss_kib(pid: int) -> int:
    """The resident memory of process ``pid``, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")

"""SIGTERM drains ``loop-server`` within ``server.drain_timeout`` and exits 0 (issue 12
item 2, issue 11 item 6): a stalled upload cannot keep it alive, open websockets are told
to reconnect (close code 1012, service restart) at once."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.server.clients import (
    UNAVAILABLE,
    Server,
    Sockets,
    loop_server,
    msisdn_server,
    read_until_closed,
)
from tests.server.test_slow_clients import registration

MARGIN = 3.0
"""Seconds beyond the drain a stop may take: the app's own shutdown (storage, push)."""
SERVICE_RESTART = 1012


def terminate(server: Server, timeout: float) -> tuple[int, float]:
    """SIGTERM ``server``: its exit status and the seconds it took to exit."""
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        status = server.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {timeout}s after SIGTERM") from None
    return status, time.monotonic() - started


def test_an_idle_server_exits_0_at_once(tmp_path: Path) -> None:
    with loop_server(tmp_path, drain_timeout=30) as server:
        status, _ = terminate(server, timeout=MARGIN)
    assert status == 0


def test_the_msisdn_gateway_exits_0_too(tmp_path: Path) -> None:
    with msisdn_server(tmp_path, drain_timeout=30) as server:
        status, _ = terminate(server, timeout=MARGIN)
    assert status == 0


def test_a_stalled_upload_is_cut_at_the_drain_timeout(tmp_path: Path) -> None:
    drain = 2.0
    with loop_server(tmp_path, drain_timeout=drain, body_timeout=60) as server:
        with Sockets() as sockets:
            upload = sockets.open(server.port, registration(100, b"", expect=True))
            assert upload.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"  # the route reads
            upload.sendall(b'{"simplePushURLs')
            status, took = terminate(server, timeout=drain + MARGIN)
            assert read_until_closed(upload, timeout=1) == UNAVAILABLE
    assert status == 0
    assert took > drain * 0.9  # the request in progress had its drain time
    log = server.log.read_text()
    assert "Traceback" not in log and '"code":500' not in log


@pytest.mark.parametrize("path", ["/websocket", "/signalling"])
def test_open_websockets_are_told_to_reconnect(tmp_path: Path, path: str) -> None:
    drain = 20.0
    with loop_server(tmp_path, drain_timeout=drain) as server:
        with connect(f"ws://127.0.0.1:{server.port}{path}", open_timeout=5) as websocket:
            status, took = terminate(server, timeout=drain + MARGIN)
            with pytest.raises(ConnectionClosed) as closed:
                websocket.recv(timeout=1)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == SERVICE_RESTART
    assert status == 0
    assert took < drain / 2  # websockets are closed at once, not at the end of the drain

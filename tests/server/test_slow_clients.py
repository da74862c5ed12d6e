"""Slow, idle and surplus clients against the real ``loop-server`` under ``ulimit -n 256``
(issue 12 item 2): real requests keep being answered while hundreds of sockets trickle
headers; every slow socket is closed by a timeout or shed; stalled bodies are cut."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import pytest
import requests

from loop.web.server import FIRST_BYTE_GRACE
from tests.server.clients import (
    PARTIAL_HEADERS,
    TIMED_OUT,
    UNAVAILABLE,
    Sockets,
    loop_server,
    msisdn_server,
    read_until_closed,
    timed_get,
    wait_until_closed,
)
from tests.support.waiting import eventually_blocking

SLOW_SOCKETS = 600
"""Far more than the 128 connections ``ulimit -n 256`` leaves (256 less 128 reserved)."""
BATCH = 100
REAL_REQUESTS_PER_BATCH = 5
MAX_LATENCY = 2.0
"""Seconds a real request may take while slow sockets are held: it waits for no one."""
DERIVED_CAP = 128
MARGIN = 3.0
"""Seconds a timer may be late on a busy machine."""


def test_real_requests_are_answered_while_hundreds_of_slow_sockets_are_held(
    tmp_path: Path,
) -> None:
    header_timeout = 8.0
    with loop_server(tmp_path, header_timeout=header_timeout) as server:
        slow: list[socket.socket] = []
        latencies = []
        with Sockets() as sockets:
            for _ in range(SLOW_SOCKETS // BATCH):
                slow += [sockets.open(server.port, PARTIAL_HEADERS) for _ in range(BATCH)]
                for path in ["/__lbheartbeat__", "/"] * (REAL_REQUESTS_PER_BATCH // 2 + 1):
                    response, elapsed = timed_get(server.origin + path, Accept="application/json")
                    assert response.status_code == 200, response.text
                    latencies.append(elapsed)
            assert response.json()["name"] == "mozilla-loop-server"
            assert max(latencies) < MAX_LATENCY, latencies

            # Past the cap, each new connection shed the slow socket waiting longest.
            shed = wait_until_closed(
                slow, count=SLOW_SOCKETS - DERIVED_CAP, timeout=header_timeout / 2
            )
            assert set(shed.values()) <= {UNAVAILABLE, b""}
            assert UNAVAILABLE in shed.values()

            # The ones it kept are closed by the header timeout.
            closed = wait_until_closed(slow, count=SLOW_SOCKETS, timeout=header_timeout + MARGIN)
            timed_out = [data for sock, data in closed.items() if sock not in shed]
            assert timed_out and set(timed_out) == {TIMED_OUT}
        response, _ = timed_get(server.origin + "/__lbheartbeat__")
        assert response.status_code == 200


def test_headers_must_arrive_within_the_header_timeout(tmp_path: Path) -> None:
    with loop_server(tmp_path, header_timeout=1) as server:
        with Sockets() as sockets:
            begun = sockets.open(server.port, PARTIAL_HEADERS)
            silent = sockets.open(server.port)
            started = time.monotonic()
            assert read_until_closed(begun, timeout=1 + MARGIN) == TIMED_OUT
            assert time.monotonic() - started > 0.8
            assert read_until_closed(silent, timeout=MARGIN) == b""


def test_a_complete_request_is_not_cut_by_the_header_timeout(tmp_path: Path) -> None:
    """The timer stops at the end of the headers, and each request on a keep-alive
    connection gets its own: three requests over one socket outlive the timeout."""
    request = b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with loop_server(tmp_path, header_timeout=1, keep_alive_timeout=5) as server:
        with Sockets() as sockets:
            sock = sockets.open(server.port)
            started = time.monotonic()
            for _ in range(3):
                time.sleep(0.6)  # pacing the client, not waiting for the server
                sock.sendall(request)
                answer = b""
                while not answer.endswith(b"\r\n\r\n{}"):
                    chunk = sock.recv(65536)
                    assert chunk, f"closed after {time.monotonic() - started:.1f}s"
                    answer += chunk
                assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
            assert time.monotonic() - started > 1.5


def test_an_idle_keep_alive_connection_is_closed(tmp_path: Path) -> None:
    with loop_server(tmp_path, keep_alive_timeout=1, header_timeout=30) as server:
        with Sockets() as sockets:
            sock = sockets.open(server.port, b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n")
            started = time.monotonic()
            answer = read_until_closed(sock, timeout=1 + MARGIN)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\n{}")
            assert time.monotonic() - started > 0.8


def registration(length: int, body: bytes, *, expect: bool = False) -> bytes:
    headers = b"Expect: 100-continue\r\n" if expect else b""
    return (
        b"POST /registration HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
        % (length, headers, body)
    )


def test_a_stalled_body_is_cut_by_the_body_timeout(tmp_path: Path) -> None:
    with loop_server(tmp_path, body_timeout=1) as server:
        with Sockets() as sockets:
            upload = sockets.open(server.port, registration(100, b'{"simplePushURL'))
            started = time.monotonic()
            assert read_until_closed(upload, timeout=1 + MARGIN) == TIMED_OUT
            assert time.monotonic() - started > 0.8
        response, _ = timed_get(server.origin + "/__lbheartbeat__")
        assert response.status_code == 200
    log = server.log.read_text()
    assert '"code":400' in log and '"errno":106' in log
    assert "Traceback" not in log and '"code":500' not in log


def test_a_slow_body_that_keeps_coming_is_read(tmp_path: Path) -> None:
    """The body timeout is a pause between pieces, not a deadline for the whole body."""
    body = b"{}" + b" " * 28
    with loop_server(tmp_path, body_timeout=1) as server:
        with Sockets() as sockets:
            upload = sockets.open(server.port, registration(len(body), b""))
            for offset in range(0, len(body), 10):
                time.sleep(0.5)  # the slow client's pace
                upload.sendall(body[offset : offset + 10])
            answer = upload.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer


def test_the_cap_sheds_waiting_connections_never_a_request_in_progress(tmp_path: Path) -> None:
    cap = 20
    with loop_server(tmp_path, max_connections=cap, body_timeout=60) as server:
        body = b'{"simplePushURLs": {}}'
        with Sockets() as sockets:
            upload = sockets.open(server.port, registration(len(body), b"", expect=True))
            assert upload.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"  # the route reads
            begun = sockets.open(server.port, PARTIAL_HEADERS)
            assert requests.get(server.origin + "/__lbheartbeat__", timeout=5).status_code == 200
            for _ in range(cap):
                sockets.open(server.port, PARTIAL_HEADERS)
            # The longest waiting goes first, with a word since its request had begun.
            assert read_until_closed(begun, timeout=MARGIN) == UNAVAILABLE
            upload.sendall(body)
            upload.settimeout(5)
            answer = upload.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
            assert b"hawk-session-token" in answer.lower()


def test_a_newcomer_is_refused_when_no_connection_waits(tmp_path: Path) -> None:
    """Every connection busy with a request: the newcomer goes, not them. Once one of them
    is idle again, it is the one shed for the next newcomer."""
    cap = 3
    body = b'{"simplePushURLs": {}}'
    with loop_server(tmp_path, max_connections=cap, body_timeout=60) as server:
        with Sockets() as sockets:
            uploads = []
            for _ in range(cap):
                upload = sockets.open(server.port, registration(len(body), b"", expect=True))
                assert upload.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
                uploads.append(upload)
            refused = sockets.open(
                server.port, b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            assert read_until_closed(refused, timeout=MARGIN) == b""
            uploads[0].sendall(body)
            uploads[0].settimeout(5)
            assert uploads[0].recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
            assert requests.get(server.origin + "/__lbheartbeat__", timeout=5).status_code == 200
            assert read_until_closed(uploads[0], timeout=MARGIN) == b""  # idle: shed
            for upload in uploads[1:]:
                upload.sendall(body)
                assert upload.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")


def test_silent_connections_are_shed_once_past_their_grace(tmp_path: Path) -> None:
    """A connection that has sent nothing is spared for FIRST_BYTE_GRACE (its request may
    not be read yet), then shed like any waiting one."""
    cap = 4
    with loop_server(tmp_path, max_connections=cap, header_timeout=60) as server:
        with Sockets() as sockets:
            silent = [sockets.open(server.port) for _ in range(cap)]
            with pytest.raises(requests.ConnectionError):
                requests.get(server.origin + "/__lbheartbeat__", timeout=5)

            def answered() -> bool:
                with contextlib.suppress(requests.ConnectionError):
                    return requests.get(server.origin + "/__lbheartbeat__", timeout=5).ok
                return False

            eventually_blocking(answered, what="an answer", timeout=FIRST_BYTE_GRACE + MARGIN)
            assert read_until_closed(silent[0], timeout=MARGIN) == b""


def test_the_msisdn_gateway_has_the_same_guards(tmp_path: Path) -> None:
    with msisdn_server(tmp_path, header_timeout=1) as server:
        with Sockets() as sockets:
            begun = sockets.open(server.port, PARTIAL_HEADERS)
            assert read_until_closed(begun, timeout=1 + MARGIN) == TIMED_OUT
        assert requests.get(server.origin + "/__heartbeat__", timeout=5).status_code == 200

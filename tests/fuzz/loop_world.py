"""The Loop app under fuzz, and the real things its requests name: sessions (a guest, a
user signed in with BrowserID, one with an OAuth state), rooms, a participant's token, a
call link. Made with the API itself; made again when a request may have destroyed them.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import strategies as st
from starlette.applications import Starlette

from loop.clock import FakeClock
from loop.config import BrowserIDSettings, FxaOAuthSettings, GaSettings, PushSettings
from loop.identity.fxa import NO_TOKEN
from loop.routes.pages import STATIC_DIR
from tests.fuzz.routes import Endpoint, Target, targets, unprefixed
from tests.fuzz.runner import World
from tests.fuzz.values import OMIT, Plan, Ref
from tests.support.app import make_settings, running_app
from tests.support.client import HawkSession, LoopClient
from tests.support.fxa_server import CLIENT_ID, CLIENT_SECRET, FxaServer
from tests.support.identities import AUDIENCE, Certifier, backed_assertion, fxa_claims
from tests.support.rooms import CONTEXT

ROOM = ("roomName", "context", "roomOwner", "maxSize", "expiresIn", "channel")
ACTION = (
    "action", "operation", "displayName", "clientMaxSize", "event", "state", "connections",
    "sendStreams", "recvStreams", "domains",
)  # fmt: skip
CALL_URL = ("callerId", "issuer", "subject", "expiresIn")
PUSH = ("simplePushURL", "simplePushURLs", "simple_push_url")
ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    ("GET", "/"): Endpoint(),
    ("GET", "/__heartbeat__"): Endpoint(),
    ("GET", "/__lbheartbeat__"): Endpoint(),
    ("GET", "/__version__"): Endpoint(),
    ("GET", "/api-specs"): Endpoint(),
    ("GET", "/openapi.json"): Endpoint(),
    ("GET", "/metrics"): Endpoint(),
    ("GET", "/push-server-config"): Endpoint(),
    ("POST", "/event"): Endpoint(("event", "action", "label")),
    ("POST", "/registration"): Endpoint(PUSH),
    ("DELETE", "/registration"): Endpoint(PUSH),
    ("DELETE", "/session"): Endpoint(),
    ("DELETE", "/account"): Endpoint(),
    ("POST", "/fxa-oauth/params"): Endpoint(),
    ("GET", "/fxa-oauth/token"): Endpoint(),
    ("POST", "/fxa-oauth/token"): Endpoint(("state", "code")),
    ("POST", "/rooms"): Endpoint(ROOM),
    ("GET", "/rooms"): Endpoint(),
    ("PATCH", "/rooms"): Endpoint(("deleteRoomTokens",)),
    ("GET", "/rooms/{token}"): Endpoint(token="room"),
    ("PATCH", "/rooms/{token}"): Endpoint(ROOM, "room"),
    ("DELETE", "/rooms/{token}"): Endpoint(token="room"),
    ("POST", "/rooms/{token}"): Endpoint(ACTION, "room"),
    ("POST", "/room-url"): Endpoint(ROOM),
    ("PUT", "/room-url/{token}"): Endpoint(ROOM, "room"),
    ("DELETE", "/room-url/{token}"): Endpoint(token="room"),
    ("GET", "/call-url"): Endpoint(),
    ("POST", "/call-url"): Endpoint(CALL_URL),
    ("POST", "/call-url/"): Endpoint(CALL_URL),
    ("PUT", "/call-url/{token}"): Endpoint(CALL_URL, "call"),
    ("DELETE", "/call-url/{token}"): Endpoint(token="call"),
    ("GET", "/calls"): Endpoint(),
    ("POST", "/calls"): Endpoint(("calleeId", "callType", "channel", "subject")),
    ("GET", "/calls/{token}"): Endpoint(token="call"),
    ("POST", "/calls/{token}"): Endpoint(("callType", "channel", "subject", "callerId"), "call"),
    ("GET", "/{token}"): Endpoint(token="room"),
    ("GET", "/assets/{path}"): Endpoint(token="asset"),
}
"""Every HTTP route of the Loop app (without ``/v0``), and what its requests carry."""
PREFIXES = ("/v0",)
ROOM_REMOVERS = {
    ("DELETE", "/rooms/{token}"),
    ("DELETE", "/room-url/{token}"),
    ("PATCH", "/rooms"),
    ("POST", "/rooms/{token}"),  # a participant leaving
}
QUERIES = ["?version=1", "?version=0", "?version=", "?simplePushURL=http://127.0.0.1:1/p"]
ASSETS = sorted(str(p.relative_to(STATIC_DIR)) for p in STATIC_DIR.rglob("*") if p.is_file())
EMAIL = "fuzz@example.com"


def _refs(kind: str, top: int = 3) -> st.SearchStrategy[Ref]:
    return st.builds(Ref, st.just(kind), st.integers(0, top))


GOOD: dict[str, st.SearchStrategy[Any]] = {
    "roomName": st.sampled_from([OMIT, OMIT, "Fuzz room"]),  # or context: both is 400
    "context": st.just(CONTEXT),
    "roomOwner": st.just("Alice"),
    "maxSize": st.integers(2, 6),
    "expiresIn": st.integers(1, 48),
    "channel": st.sampled_from(["", "default", "aurora"]),
    "deleteRoomTokens": st.lists(_refs("room"), min_size=1, max_size=3),
    "action": st.sampled_from(["join", "join", "refresh", "leave", "status", "logDomain"]),
    "operation": st.sampled_from(["join", "refresh", "leave"]),
    "displayName": st.sampled_from(["Bob", "", "é" * 20]),
    "clientMaxSize": st.integers(3, 10),
    "event": st.sampled_from(["Session.connectionCreated", "Session.streamCreated", "x"]),
    "state": st.sampled_from(["init", "waiting", "starting", "sending", "sendrecv"])
    | _refs("state"),
    "connections": st.integers(0, 4),
    "sendStreams": st.integers(0, 4),
    "recvStreams": st.integers(0, 4),
    "domains": st.lists(
        st.fixed_dictionaries(
            {"domain": st.sampled_from(["example.com", "é.fr"]), "count": st.integers(0, 9)}
        ),
        max_size=3,
    ),
    "label": st.just("fuzz"),
    "simplePushURL": _refs("push"),
    "simple_push_url": _refs("push"),
    "simplePushURLs": st.dictionaries(
        st.sampled_from(["calls", "rooms"]), _refs("push") | _refs("webpush"), max_size=2
    ),
    "code": _refs("code"),
    "callerId": st.sampled_from(["Alice", "alice@example.com", "+33623456789"]),
    "issuer": st.just("alice@example.com"),
    "subject": st.just("hello"),
    "calleeId": _refs("identity") | st.lists(_refs("identity"), max_size=3),
    "callType": st.sampled_from(["audio", "audio-video"]),
}
"""Plausible values, so most requests pass validation and reach the domain code."""


class LoopWorld(World):
    """The app, a client on it, and the real sessions, rooms and links requests name."""

    def __init__(
        self,
        client: LoopClient,
        clock: FakeClock,
        certifier: Certifier,
        fxa: FxaServer,
        push_url: str,
        webpush: dict[str, Any],
    ) -> None:
        super().__init__(client.http, clock)
        self.client = client
        self.certifier = certifier
        self.fxa = fxa
        self.push_url = push_url
        self.webpush = webpush
        self.guest: HawkSession | None = None
        self.registered: HawkSession | None = None
        self.rooms: list[str] = []
        self.calls: list[str] = []
        self.media: list[str] = []
        self.state = ""
        self.assertion = ""
        self.batches = 0

    # -- the world ------------------------------------------------------------------------

    async def build(self) -> None:
        """Fresh sessions (a guest that started an OAuth login, a BrowserID user), a room
        each, a participant and a call link."""
        client = self.client
        params = await client.post("/fxa-oauth/params")  # a guest with an OAuth state
        assert params.status_code == 200, params.text
        self.guest = HawkSession.from_token(params.headers["Hawk-Session-Token"])
        self.state = params.json()["state"]
        self.assertion = self._assertion()
        signed_in = await client.post(
            "/registration", json={}, headers={"Authorization": f"BrowserID {self.assertion}"}
        )
        assert signed_in.status_code == 200, signed_in.text
        self.registered = HawkSession.from_token(signed_in.headers["Hawk-Session-Token"])
        targets = {"calls": self.push_url, "rooms": self.webpush}
        pushed = await client.post(
            "/registration", json={"simplePushURLs": targets}, hawk=self.registered
        )
        assert pushed.status_code == 200, pushed.text  # so direct calls find the callee
        await self.build_rooms()
        await self.build_link()

    async def build_rooms(self) -> None:
        """A room of each session's, and an anonymous participant in the guest's."""
        assert self.guest is not None and self.registered is not None
        self.rooms = [await self._room(self.guest), await self._room(self.registered)]
        joined = await self.client.post(
            f"/rooms/{self.rooms[0]}",
            json={"action": "join", "displayName": "Carol", "clientMaxSize": 5},
        )
        assert joined.status_code == 200, joined.text
        self.media = [joined.json()["sessionToken"]]

    async def build_link(self) -> None:
        link = await self.client.post(
            "/call-url", json={"callerId": "Alice"}, hawk=self.registered
        )
        assert link.status_code == 200, link.text
        self.calls = [link.json()["callToken"]]

    async def learn_state(self) -> None:
        """Every ``POST /fxa-oauth/token`` replaces the guest's OAuth state (§3.8)."""
        params = await self.client.post("/fxa-oauth/params", hawk=self.guest)
        if params.status_code == 200:  # the guest may be gone: rebuilt at the next round
            self.state = params.json()["state"]

    async def _room(self, owner: HawkSession) -> str:
        body = {"roomOwner": "Alice", "maxSize": 5, "context": CONTEXT}
        response = await self.client.post("/rooms", json=body, hawk=owner)
        assert response.status_code == 201, response.text
        token: str = response.json()["roomToken"]
        return token

    def _assertion(self) -> str:
        device = self.certifier.key  # any key pair will do as the device's
        now = self.clock.now()
        certificate = self.certifier.certify(device, now=now, claims=fxa_claims(EMAIL))
        return backed_assertion(certificate, device, now=now, duration=3600)

    @property
    def principal(self) -> str:
        return f"user@{self.certifier.issuer}"

    def resolve(self, ref: Ref) -> Any:
        pick: dict[str, list[Any]] = {
            "room": self.rooms,
            "call": self.calls,
            "asset": ASSETS,
            "identity": [EMAIL, self.principal, "nobody@example.com", "+33623456789"],
            "push": [self.push_url],
            "webpush": [self.webpush],
            "state": [self.state],
        }
        if ref.kind == "code":
            return self.fxa.add_code(f"user{ref.index}@example.com")
        choices = pick[ref.kind]
        return choices[ref.index % len(choices)]

    def session(self, kind: str) -> HawkSession:
        session = self.registered if kind == "registered" else self.guest
        assert session is not None
        return session

    def credential(self, kind: str) -> str | None:
        if kind == "participant":
            return "Basic " + base64.b64encode(self.media[0].encode()).decode()
        if kind == "browserid":
            return f"BrowserID {self.assertion}"
        return None

    def prescribed(self, plan: Plan, response: httpx.Response) -> bool:
        return prescribed(plan, response)

    # -- one batch ------------------------------------------------------------------------

    async def send_all(self, batch: list[Plan]) -> None:
        """Send ``batch`` (one round over the routes); remake at once what a request
        destroyed (sessions, rooms or the participant, the link), so the rest of the round
        still reaches the domain, and everything every third round."""
        if self.guest is None or self.batches % 3 == 0:
            await self.build()
        self.batches += 1
        for plan in batch:
            response = await self.send(plan)
            route = (plan.method, unprefixed(plan.target.path, PREFIXES))
            if route == ("POST", "/fxa-oauth/token"):
                await self.learn_state()
            if not response.is_success:
                continue
            if route in (("DELETE", "/account"), ("DELETE", "/session")):
                await self.build()
            elif route in ROOM_REMOVERS:
                await self.build_rooms()
            elif route == ("DELETE", "/call-url/{token}"):
                await self.build_link()


def prescribed(plan: Plan, response: httpx.Response) -> bool:
    """Answers the spec gives as they are, outside the general rule (loop-api.md §2.1):
    a bulk delete that deleted nothing is 404 with its per-token ``responses`` (§4.12);
    FxA refusing the code is 503/201 (§3.8, as the original answered)."""
    route = (plan.method, unprefixed(plan.target.path, PREFIXES))
    try:
        body: object = response.json()
    except ValueError:
        return False
    if route == ("PATCH", "/rooms") and response.status_code == 404:
        return isinstance(body, dict) and isinstance(body.get("responses"), dict)
    if route == ("POST", "/fxa-oauth/token") and response.status_code == 503:
        return body == {"code": 503, "errno": 201, "error": NO_TOKEN}
    return False


def loop_targets(app: Starlette) -> list[Target]:
    return targets(app, ENDPOINTS, PREFIXES)


@asynccontextmanager
async def loop_world(
    storage_url: str, certifier: Certifier, fxa: FxaServer, refused_port: int
) -> AsyncIterator[tuple[Starlette, LoopWorld]]:
    """The app on ``storage_url`` with every optional part switched on (BrowserID with a
    local issuer, FxA OAuth on the stand-in, analytics, push), its outgoing traffic kept
    on the loopback (push and analytics to a refusing port)."""
    dead = f"http://127.0.0.1:{refused_port}"
    settings = make_settings(
        storage_url,
        fxa_audiences=[AUDIENCE],
        browserid=BrowserIDSettings(
            trusted_issuers={certifier.issuer: {"public_key": certifier.public_key.to_json()}}
        ),
        fxa_oauth=FxaOAuthSettings(
            activated=True,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,  # type: ignore[arg-type]
            oauth_uri=fxa.url("/v1"),
            profile_uri=fxa.url("/v1"),
        ),
        ga=GaSettings(activated=True, id="UA-0", url=f"{dead}/collect"),
        push_server_uris=[],
        push=PushSettings(retries=0, timeout=0.5, close_grace=0.1),
    )
    async with running_app(settings) as (app, _, clock):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost:5000"
        ) as http:
            world = LoopWorld(
                LoopClient(http, clock),
                clock,
                certifier,
                fxa,
                f"{dead}/push",
                _webpush(dead),
            )
            yield app, world


def _webpush(dead: str) -> dict[str, Any]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {
        "endpoint": dead.replace("http:", "https:") + "/wp",
        "keys": {"p256dh": b64(point), "auth": b64(b"0123456789abcdef")},
    }

// The room page (client-usage.md §3): read the room, join, run the call, leave.
// The room token is the last path segment; the room key is the fragment (never sent).

import { ApiError, request } from "./api.js";
import { config } from "./config.js";
import { expose } from "./debug.js";
import { Membership } from "./membership.js";
import { Mesh } from "./mesh.js";
import { openCamera, openScreen, setEnabled, stop } from "./local-media.js";
import { savedName, saveName, storedSession } from "./owner-session.js";
import { openContext, roomTitle, unwrapRoomKey } from "./roomkey.js";
import * as view from "./room-view.js";
import { Signalling } from "./signalling.js";

const TOKEN = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const ROOM_KEY = location.hash.slice(1);

const call = { membership: null, mesh: null, camera: null, screen: null };
expose(() => call.mesh);

async function main() {
  view.onRetry(() => location.reload());
  if (!/^[A-Za-z0-9_-]+$/.test(TOKEN)) return view.showMessage("expired");
  view.showMessage("loading");
  let owner = await storedSession();
  let room;
  try {
    room = await readRoom(owner);
  } catch (error) {
    if (!(owner && error.errno === 110)) return view.showMessage(view.stateForError(error));
    owner = null; // this browser's session is gone: continue as a guest
    room = await readRoom(null).catch((e) => view.showMessage(view.stateForError(e)));
    if (!room) return;
  }
  if (typeof room?.roomUrl !== "string") return view.showMessage("unknown");
  // Only the owner (or a member) gets the full view, with `participants`.
  const isOwner = Boolean(owner) && Array.isArray(room.participants);
  view.setTitle(await readTitle(room, isOwner ? owner.profileKey : null));
  view.showJoin(savedName(), (name) => join(name, isOwner ? owner.auth : null));
}

async function readRoom(owner) {
  const path = `/rooms/${encodeURIComponent(TOKEN)}`;
  return (await request("GET", path, { auth: owner?.auth })).data;
}

async function readTitle(room, profileKey) {
  if (room.context && typeof room.context.value === "string") {
    try {
      const key = ROOM_KEY || (profileKey && (await unwrapRoomKey(profileKey, room.context)));
      if (key) return roomTitle(await openContext(key, room.context));
    } catch {
      // a wrong or missing key: the room simply has no name to show
    }
  }
  return typeof room.roomName === "string" ? room.roomName : "";
}

async function join(name, ownerAuth) {
  saveName(name);
  view.showMessage("joining");
  try {
    call.camera = await openCamera();
  } catch (error) {
    return view.showMessage(error.kind === "refused" ? "camera-refused" : "camera-missing");
  }
  call.membership = new Membership(TOKEN, ownerAuth);
  call.membership.onFailure = (error) => end(view.stateForError(error));
  let answer;
  try {
    answer = await call.membership.join(name);
  } catch (error) {
    stop(call.camera);
    return view.showMessage(view.stateForError(error));
  }
  startCall(answer, name);
}

function startCall(answer, name) {
  const signalling = new Signalling(answer.signallingUrl, answer.sessionToken);
  const rtcConfig = {
    iceServers: Array.isArray(answer.iceServers) ? answer.iceServers : [],
    iceTransportPolicy: config.iceTransportPolicy,
  };
  const mesh = new Mesh(signalling, { rtcConfig, peerTimeoutMs: config.peerConnectTimeout * 1000 });
  call.mesh = mesh;
  mesh.share(call.camera);
  watchSignalling(signalling);
  watchMesh(mesh);
  view.showCall();
  view.addTile("local", `${name} (you)`, { local: true });
  view.setTileStream("local", call.camera);
  signalling.connect();
}

// A socket that drops without a `bye` (network change, server restart) is opened again;
// the seat is still ours, and the others see us leave and join again.
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000];

function watchSignalling(signalling) {
  let attempts = 0;
  signalling.addEventListener("welcome", () => {
    attempts = 0;
    view.setTileNote("local", "");
  });
  signalling.addEventListener("bye", ({ detail }) => end(byeState(detail.reason)));
  signalling.addEventListener("error", ({ detail }) => {
    if (/token|participant/.test(detail.reason)) end("expired");
    else console.warn("signalling:", detail.reason);
  });
  signalling.addEventListener("closed", () => {
    if (attempts >= RECONNECT_DELAYS_MS.length) return end("network");
    view.setTileNote("local", "Reconnecting…");
    setTimeout(() => call.mesh && signalling.connect(), RECONNECT_DELAYS_MS[attempts++]);
  });
}

const byeState = (reason) =>
  ({ removed: "removed", "room-deleted": "room-deleted", replaced: "replaced", left: "left" })[
    reason
  ] || "expired";

function watchMesh(mesh) {
  mesh.addEventListener("welcome", () => report("Publisher.streamCreated"));
  mesh.addEventListener("peer", ({ detail: { peer } }) => showPeer(mesh, peer));
  mesh.addEventListener("peerleft", ({ detail: { id } }) => {
    for (const tile of document.querySelectorAll(`[data-peer="${CSS.escape(id)}"]`)) tile.remove();
    report("Session.connectionDestroyed");
  });
  mesh.addEventListener("unreachable", ({ detail: { peer } }) =>
    view.setTileNote(peer.id, `Could not connect to ${peer.name}.`),
  );
}

function showPeer(mesh, peer) {
  const onRemove = mesh.role === "moderator" ? () => mesh.remove(peer.id) : null;
  view.addTile(peer.id, peer.name, { onRemove }).dataset.peer = peer.id;
  view.setTileNote(peer.id, "Connecting…");
  peer.addEventListener("connection", ({ detail: { state } }) => {
    if (state === "connected") view.setTileNote(peer.id, "");
    if (state === "failed") view.setTileNote(peer.id, `Could not connect to ${peer.name}.`);
    if (state === "connected") report("Session.connectionCreated");
  });
  peer.addEventListener("stream", ({ detail: { stream, screen } }) => {
    if (!screen) {
      view.setTileStream(peer.id, stream);
      report("Session.av.streamCreated");
      return;
    }
    const id = `screen-${stream.id}`;
    view.addTile(id, `${peer.name} (screen)`, { screen: true }).dataset.peer = peer.id;
    view.setTileStream(id, stream);
    report("Session.screen.streamCreated");
  });
  peer.addEventListener("streamended", ({ detail: { stream } }) => {
    view.removeTile(`screen-${stream.id}`);
    report("Session.streamDestroyed");
  });
  peer.addEventListener("chat", ({ detail: { text } }) => view.addChatLine(peer.name, text));
}

// A `status` action (§2.6) with the counters of the moment.
function report(event) {
  const mesh = call.mesh;
  if (!mesh) return;
  const peers = [...mesh.peers.values()];
  const sending = mesh.localStreams.length;
  const receiving = peers.reduce((sum, peer) => sum + peer.remoteStreams.size, 0);
  const state = receiving ? (sending ? "sendrecv" : "receiving") : sending ? "sending" : "waiting";
  call.membership?.status(event, state, peers.length + 1, sending, receiving);
}

// Ends the call once, whatever ended it first, and says why.
function end(state) {
  const { mesh, membership, camera, screen } = call;
  if (!mesh && !membership) return;
  Object.assign(call, { membership: null, mesh: null, camera: null, screen: null });
  mesh?.close(); // reports nothing: the call is already detached
  membership?.leave();
  for (const stream of [camera, screen]) if (stream) stop(stream);
  view.clearTiles();
  view.showMessage(state);
}

async function toggleScreen(sharing) {
  if (!call.mesh) return false;
  if (!sharing) {
    stopScreen();
    return true;
  }
  const screen = await openScreen();
  if (!screen) return false;
  call.screen = screen;
  screen.getVideoTracks()[0].addEventListener("ended", () => {
    stopScreen();
    view.setPressed("share-screen", false);
  });
  call.mesh.share(screen);
  view.addTile("local-screen", "Your screen", { local: true, screen: true });
  view.setTileStream("local-screen", screen);
  return true;
}

function stopScreen() {
  if (!call.screen) return;
  call.mesh?.unshare(call.screen);
  stop(call.screen);
  call.screen = null;
  view.removeTile("local-screen");
}

view.bindToggle("mute-camera", (muted) => call.camera && setEnabled(call.camera, "video", !muted));
view.bindToggle("mute-microphone", (muted) => call.camera && setEnabled(call.camera, "audio", !muted));
view.bindToggle("share-screen", toggleScreen);
// Phones offer no screen capture: no button for it there.
document.getElementById("share-screen").hidden = !navigator.mediaDevices?.getDisplayMedia;
view.onHangUp(() => end("left"));
view.onChat((text) => {
  call.mesh?.sendChat(text);
  view.addChatLine("You", text);
});
addEventListener("pagehide", () => call.membership?.leave());

main().catch((error) => {
  console.error(error);
  view.showMessage(error instanceof ApiError ? view.stateForError(error) : "unknown");
});

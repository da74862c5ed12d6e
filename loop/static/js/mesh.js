// The call as a full mesh: one Peer per other member, created and closed as the
// signalling socket reports members (docs/signalling.md).
//
// Events: `welcome` {id, role}, `peer` {peer} (a new member), `peerleft` {id, reason},
// `unreachable` {peer} (not connected within the configured time).

import { Peer } from "./peer.js";

export class Mesh extends EventTarget {
  constructor(signalling, { rtcConfig, peerTimeoutMs }) {
    super();
    this.signalling = signalling;
    this.rtcConfig = rtcConfig;
    this.peerTimeoutMs = peerTimeoutMs;
    this.selfId = null;
    this.role = null;
    this.localStreams = [];
    this.peers = new Map();
    const on = (type, handler) =>
      signalling.addEventListener(type, (event) => handler.call(this, event.detail));
    on("welcome", this.onWelcome);
    on("joined", ({ peer }) => this.addPeer(peer, false));
    on("signal", ({ from, data }) => this.peers.get(from)?.receive(data));
    on("left", ({ id, reason }) => this.removePeer(id, reason));
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // Also after a reconnection: connections to members no longer there are dropped, and
  // every member listed gets a fresh one (they see this page as a newcomer).
  onWelcome({ id, role, peers }) {
    this.selfId = id;
    this.role = role;
    for (const peerId of [...this.peers.keys()]) this.removePeer(peerId, "reconnected");
    this.emit("welcome", { id, role });
    for (const member of peers) this.addPeer(member, true);
  }

  addPeer(member, initiator) {
    this.removePeer(member.id, "replaced");
    const peer = new Peer(member, {
      selfId: this.selfId,
      initiator,
      rtcConfig: this.rtcConfig,
      localStreams: this.localStreams,
      send: (message) => this.signalling.send(message),
    });
    this.peers.set(peer.id, peer);
    peer.timeout = setTimeout(() => {
      if (peer.pc.connectionState !== "connected") this.emit("unreachable", { peer });
    }, this.peerTimeoutMs);
    this.emit("peer", { peer });
  }

  removePeer(id, reason) {
    const peer = this.peers.get(id);
    if (!peer) return;
    clearTimeout(peer.timeout);
    peer.close();
    this.peers.delete(id);
    this.emit("peerleft", { id, reason });
  }

  share(stream) {
    this.localStreams.push(stream);
    for (const peer of this.peers.values()) peer.addStream(stream);
  }

  unshare(stream) {
    this.localStreams = this.localStreams.filter((s) => s !== stream);
    for (const peer of this.peers.values()) peer.removeStream(stream);
  }

  sendChat(text) {
    for (const peer of this.peers.values()) peer.sendChat(text);
  }

  // Moderators only; the server refuses anyone else.
  remove(id) {
    this.signalling.send({ type: "remove", id });
  }

  close() {
    for (const id of [...this.peers.keys()]) this.removePeer(id, "closed");
    this.signalling.close();
  }
}

// One RTCPeerConnection to one other member: "perfect negotiation" (the side whose id
// sorts lower is polite), local tracks, remote streams and the `chat` data channel.
//
// Events: `stream` {stream, screen}, `streamended` {stream}, `chat` {text},
// `connection` {state}. The newcomer makes the first offer; the other side answers it
// before offering anything itself, so the first exchange never collides.

const MAX_CHAT_LENGTH = 2000; // what the page's own chat box accepts

export class Peer extends EventTarget {
  constructor(member, { selfId, initiator, rtcConfig, localStreams, send }) {
    super();
    this.id = member.id;
    this.name = member.data?.displayName || "Guest";
    this.polite = selfId < member.id;
    this.ready = initiator; // may offer
    this.send = (data) => send({ type: "signal", to: this.id, data });
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.queue = Promise.resolve();
    this.senders = new Map(); // local stream id -> its RTCRtpSenders
    this.remoteStreams = new Map();
    this.pc = new RTCPeerConnection(rtcConfig);
    this.chat = this.pc.createDataChannel("chat", { negotiated: true, id: 0 });
    this.wire();
    this.pendingStreams = initiator ? null : [...localStreams];
    if (initiator) localStreams.forEach((stream) => this.attach(stream));
  }

  wire() {
    const pc = this.pc;
    pc.addEventListener("negotiationneeded", () => this.offer());
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (candidate) this.send({ candidate: candidate.toJSON() });
    });
    pc.addEventListener("track", (event) => this.onTrack(event));
    pc.addEventListener("connectionstatechange", () =>
      this.emit("connection", { state: pc.connectionState }),
    );
    this.chat.addEventListener("message", (event) =>
      this.emit("chat", { text: String(event.data).slice(0, MAX_CHAT_LENGTH) }),
    );
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // Streams shared before the first answer wait for it (the first offer is the peer's).
  addStream(stream) {
    if (this.pendingStreams) this.pendingStreams.push(stream);
    else this.attach(stream);
  }

  removeStream(stream) {
    if (this.pendingStreams) this.pendingStreams = this.pendingStreams.filter((s) => s !== stream);
    for (const sender of this.senders.get(stream.id) || []) this.pc.removeTrack(sender);
    this.senders.delete(stream.id);
  }

  attach(stream) {
    const senders = stream.getTracks().map((track) => this.pc.addTrack(track, stream));
    this.senders.set(stream.id, senders);
  }

  async offer() {
    if (!this.ready) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.send({ description: this.pc.localDescription.toJSON() });
    } catch (error) {
      console.warn("offer failed:", error);
    } finally {
      this.makingOffer = false;
    }
  }

  // Signals are handled one at a time, in the order they arrived.
  receive(data) {
    this.queue = this.queue.then(() => this.handle(data)).catch((e) => console.warn("signal:", e));
  }

  async handle({ description, candidate }) {
    if (description) {
      const collision =
        description.type === "offer" && (this.makingOffer || this.pc.signalingState !== "stable");
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      await this.pc.setRemoteDescription(description);
      if (description.type !== "offer") return;
      if (this.pendingStreams) {
        this.pendingStreams.forEach((stream) => this.attach(stream));
        this.pendingStreams = null;
      }
      await this.pc.setLocalDescription();
      this.send({ description: this.pc.localDescription.toJSON() });
      this.ready = true;
    } else if (candidate) {
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.ignoreOffer) throw error;
      }
    }
  }

  // The first stream a member sends is its camera; any later one is a shared screen.
  onTrack({ track, streams }) {
    const stream = streams[0];
    if (!stream || this.remoteStreams.has(stream.id)) return;
    const screen = this.remoteStreams.size > 0;
    this.remoteStreams.set(stream.id, stream);
    this.emit("stream", { stream, screen });
    const ended = () => {
      if (!this.remoteStreams.has(stream.id)) return;
      if (stream.getTracks().some((t) => t.readyState === "live" && !t.muted)) return;
      this.remoteStreams.delete(stream.id);
      this.emit("streamended", { stream });
    };
    if (screen) {
      stream.addEventListener("removetrack", ended);
      track.addEventListener("mute", ended);
    }
  }

  sendChat(text) {
    if (this.chat.readyState === "open") this.chat.send(text);
  }

  close() {
    this.chat.close();
    this.pc.close();
  }
}

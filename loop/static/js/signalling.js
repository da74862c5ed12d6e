// The signalling socket (docs/signalling.md): hello with the media token, then JSON
// messages re-dispatched as DOM events named after their `type` (`welcome`, `joined`,
// `signal`, `left`, `bye`, `error`), plus `closed` when the socket ends.

const PING_INTERVAL_MS = 25_000;

export class Signalling extends EventTarget {
  constructor(url, sessionToken) {
    super();
    this.url = url;
    this.sessionToken = sessionToken;
    this.socket = null;
    this.pinger = null;
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.send({ type: "hello", token: this.sessionToken });
      this.pinger = setInterval(() => this.send({ type: "ping" }), PING_INTERVAL_MS);
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", (event) => {
      clearInterval(this.pinger);
      if (this.socket === socket) this.emit("closed", { code: event.code });
    });
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message && typeof message.type === "string") this.emit(message.type, message);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  close() {
    const socket = this.socket;
    this.socket = null;
    clearInterval(this.pinger);
    socket?.close(1000);
  }
}

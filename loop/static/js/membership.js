// A seat in a room over the REST API (client-usage.md §2.6-§2.7, §3.4): join, refresh
// at `expires × 0.9`, status events, leave. The owner signs with Hawk; a link clicker
// uses its media token as Basic credentials after the join.

import { ApiError, apiUrl, basicAuth, request } from "./api.js";

// The page shows a mesh of any size; the room's own maxSize is the real limit.
const CLIENT_MAX_SIZE = 10;
// A Hawk leave is signed ahead of time: a closing page cannot wait for WebCrypto.
const PRESIGN_INTERVAL_MS = 30_000;

export class Membership {
  constructor(roomToken, ownerAuth = null) {
    this.path = `/rooms/${encodeURIComponent(roomToken)}`;
    this.ownerAuth = ownerAuth;
    this.auth = null;
    this.sessionToken = null;
    this.refreshTimer = null;
    this.presignTimer = null;
    this.presignedLeave = null;
    this.onFailure = () => {};
  }

  get joined() {
    return this.sessionToken !== null;
  }

  async join(displayName) {
    const body = { action: "join", displayName, clientMaxSize: CLIENT_MAX_SIZE };
    const { data } = await request("POST", this.path, { body, auth: this.ownerAuth });
    checkJoinAnswer(data);
    this.sessionToken = data.sessionToken;
    this.auth = this.ownerAuth || basicAuth(data.sessionToken);
    await this.presignLeave();
    if (typeof data.signallingUrl !== "string") {
      this.leave(); // seated, but there is no call to take part in
      throw new ApiError(999, 200, "this server does not offer in-browser calls (media.provider)");
    }
    this.scheduleRefresh(data.expires);
    this.presignTimer = setInterval(() => this.presignLeave(), PRESIGN_INTERVAL_MS);
    return data;
  }

  scheduleRefresh(expires) {
    this.refreshTimer = setTimeout(() => this.refresh(), expires * 900);
  }

  async refresh() {
    try {
      const body = { action: "refresh", sessionToken: this.sessionToken };
      const { data } = await request("POST", this.path, { body, auth: this.auth });
      if (!data || typeof data.expires !== "number") throw new ApiError(999, 200, "no expires");
      this.scheduleRefresh(data.expires);
    } catch (error) {
      this.leave();
      this.onFailure(error);
    }
  }

  // Media events, as the original pages reported them; failures only matter to the log.
  status(event, state, connections, sendStreams, recvStreams) {
    if (!this.joined) return;
    const body = { action: "status", event, state, connections, sendStreams, recvStreams };
    request("POST", this.path, { body, auth: this.auth }).catch((error) =>
      console.info("status not recorded:", error.message),
    );
  }

  async presignLeave() {
    const body = JSON.stringify({ action: "leave", sessionToken: this.sessionToken });
    const authorization = await this.auth("POST", apiUrl(this.path), body);
    this.presignedLeave = { body, authorization };
  }

  // Gives up the seat. Synchronous up to the send, so it also works while the page closes.
  leave() {
    clearTimeout(this.refreshTimer);
    clearInterval(this.presignTimer);
    const prepared = this.presignedLeave;
    this.sessionToken = null;
    this.presignedLeave = null;
    if (!prepared) return;
    const headers = {
      "Content-Type": "application/json",
      Accept: "application/json",
      Authorization: prepared.authorization,
    };
    fetch(apiUrl(this.path), {
      method: "POST",
      headers,
      body: prepared.body,
      keepalive: true,
      credentials: "omit",
    }).catch(() => {});
  }
}

function checkJoinAnswer(data) {
  const strings = ["apiKey", "sessionId", "sessionToken"].every((k) => typeof data?.[k] === "string");
  if (!strings || typeof data.expires !== "number") {
    throw new ApiError(999, 200, "the join answer lacks its media session");
  }
}

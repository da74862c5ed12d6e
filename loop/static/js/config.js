// Where the page finds the server, read once from the page's <meta> tags.
//
// An operator serving the pages from another origin edits the tags in room.html and
// owner.html; tests may set `window.loopConfig` (same names) before the page loads.

function meta(name, fallback) {
  const element = document.querySelector(`meta[name="${name}"]`);
  return element ? element.content : fallback;
}

const overrides = globalThis.loopConfig || {};

export const config = Object.freeze({
  // Base URL of the API; relative URLs resolve against the page's own origin.
  api: new URL(overrides.api || meta("loop-api", "/v0"), location.href).href.replace(/\/$/, ""),
  // "all" (default) or "relay" (force TURN: tests, or privacy-minded operators).
  iceTransportPolicy: overrides.iceTransportPolicy || meta("loop-ice-transport-policy", "all"),
  // Seconds a peer may take to connect before its tile says it could not be reached.
  peerConnectTimeout: Number(overrides.peerConnectTimeout || meta("loop-peer-timeout", "30")),
});

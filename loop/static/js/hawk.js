// Hawk request signing with WebCrypto, as Firefox did it (client-usage.md §1.4):
// credentials derived from the session token by HKDF, a header MAC over the request.

import { bytesToHex, hexToBytes, randomBytes, toBase64, utf8 } from "./bytes.js";

const HKDF_INFO = "identity.mozilla.com/picl/v1/sessionToken";
let clockOffset = 0; // server time minus local time, from the answers' Date header

export function noteServerDate(header) {
  const serverTime = Date.parse(header || "");
  if (!Number.isNaN(serverTime)) clockOffset = serverTime - Date.now();
}

// `{id, key}` from the 64-hex-character session token: HKDF-SHA256, no salt, 64 bytes.
export async function deriveCredentials(sessionToken) {
  const material = await crypto.subtle.importKey("raw", hexToBytes(sessionToken), "HKDF", false, [
    "deriveBits",
  ]);
  const params = { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8(HKDF_INFO) };
  const bits = new Uint8Array(await crypto.subtle.deriveBits(params, material, 512));
  return { id: bytesToHex(bits.slice(0, 32)), key: bytesToHex(bits.slice(32)) };
}

const sha256 = async (text) => toBase64(await crypto.subtle.digest("SHA-256", utf8(text)));

async function hmac(keyText, text) {
  const key = await crypto.subtle.importKey(
    "raw",
    utf8(keyText), // the hex string's characters are the MAC key
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return toBase64(await crypto.subtle.sign("HMAC", key, utf8(text)));
}

// The `Authorization` value for one request; JSON bodies are hashed into the MAC.
export async function hawkHeader(credentials, method, url, bodyText) {
  const target = new URL(url, location.href);
  const ts = Math.floor((Date.now() + clockOffset) / 1000);
  const nonce = toBase64(randomBytes(8));
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const port = target.port || (target.protocol === "https:" ? "443" : "80");
  const hash =
    bodyText === undefined ? "" : await sha256(`hawk.1.payload\napplication/json\n${bodyText}\n`);
  const normalized = [
    "hawk.1.header", ts, nonce, method.toUpperCase(), target.pathname + target.search,
    host, port, hash, "",
  ].join("\n") + "\n";
  const mac = await hmac(credentials.key, normalized);
  const hashPart = hash ? `, hash="${hash}"` : "";
  return `Hawk id="${credentials.id}", ts="${ts}", nonce="${nonce}"${hashPart}, mac="${mac}"`;
}

export const hawkAuth = (credentials) => (method, url, bodyText) =>
  hawkHeader(credentials, method, url, bodyText);

// Room contexts (client-usage.md §2.1): a JSON object encrypted with AES-GCM under the
// room key, sent as base64(12-byte IV ‖ ciphertext). The key travels only in the link's
// fragment, as a JWK `k` (unpadded base64url), so the server never sees names.

import { fromBase64, randomBytes, toBase64, utf8 } from "./bytes.js";

export async function newKey() {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 128 }, true, [
    "encrypt",
  ]);
  return (await crypto.subtle.exportKey("jwk", key)).k;
}

const importKey = (k) =>
  crypto.subtle.importKey("jwk", { kty: "oct", k, ext: true }, { name: "AES-GCM" }, false, [
    "encrypt",
    "decrypt",
  ]);

export async function encrypt(k, text) {
  const iv = randomBytes(12);
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await importKey(k), utf8(text));
  const joined = new Uint8Array(iv.length + sealed.byteLength);
  joined.set(iv);
  joined.set(new Uint8Array(sealed), iv.length);
  return toBase64(joined);
}

// Throws when the key is wrong or the value was tampered with.
export async function decrypt(k, value) {
  const bytes = fromBase64(value);
  const iv = bytes.slice(0, 12);
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv }, await importKey(k), bytes.slice(12));
  return new TextDecoder().decode(plain);
}

// A new room's `context`: the details under the room key, the room key under the owner's
// own (profile) key so that the owner's other pages can rebuild the link.
export async function sealContext(roomKey, profileKey, details) {
  return {
    value: await encrypt(roomKey, JSON.stringify(details)),
    wrappedKey: await encrypt(profileKey, roomKey),
    alg: "AES-GCM",
  };
}

export const unwrapRoomKey = (profileKey, context) => decrypt(profileKey, context.wrappedKey);

export async function openContext(roomKey, context) {
  const details = JSON.parse(await decrypt(roomKey, context.value));
  return details && typeof details === "object" ? details : {};
}

// What to call a room (§3.3): its name, else the shared page's description or address.
export function roomTitle(details) {
  if (typeof details.roomName === "string" && details.roomName) return details.roomName;
  const url = Array.isArray(details.urls) ? details.urls[0] : null;
  return (url && (url.description || url.location)) || "";
}

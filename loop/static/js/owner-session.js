// The web client's Hawk session, kept in this browser's localStorage: the session token
// (loop-api.md §3.2) and a random profile key that wraps each room key, so the owner's
// pages can rebuild a room's link (#key) from the listing.

import { request } from "./api.js";
import { deriveCredentials, hawkAuth } from "./hawk.js";
import { newKey } from "./roomkey.js";

const TOKEN_KEY = "loop.sessionToken";
const PROFILE_KEY = "loop.profileKey";
const NAME_KEY = "loop.displayName";

// The stored session, or null when this browser never registered.
export async function storedSession() {
  const token = localStorage.getItem(TOKEN_KEY);
  const profileKey = localStorage.getItem(PROFILE_KEY);
  if (!token || !profileKey) return null;
  return { auth: hawkAuth(await deriveCredentials(token)), profileKey };
}

// `POST /registration` without credentials creates the session; its token comes back in
// the `Hawk-Session-Token` header (64 hex characters, client-usage.md §1.3).
export async function register() {
  const { headers } = await request("POST", "/registration", { body: {} });
  const token = headers.get("Hawk-Session-Token") || "";
  if (!/^[0-9a-f]{64}$/.test(token)) throw new Error("the server sent no usable session token");
  localStorage.setItem(TOKEN_KEY, token);
  if (!localStorage.getItem(PROFILE_KEY)) localStorage.setItem(PROFILE_KEY, await newKey());
  return storedSession();
}

export async function session() {
  return (await storedSession()) || register();
}

// A session the server no longer knows (401) is dropped; rooms it owned become unlisted.
export function forgetSession() {
  localStorage.removeItem(TOKEN_KEY);
}

export const savedName = () => localStorage.getItem(NAME_KEY) || "";
export const saveName = (name) => localStorage.setItem(NAME_KEY, name);

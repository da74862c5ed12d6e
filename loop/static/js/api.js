// JSON requests to the Loop API, failures reduced to what the pages act on: the `errno`
// of the answer (client-usage.md §1.5, §3.5), or none at all for a network failure.

import { config } from "./config.js";
import { noteServerDate } from "./hawk.js";

export class ApiError extends Error {
  constructor(errno, status, message) {
    super(message || `request failed (${status})`);
    this.errno = errno; // null: the server was not reached
    this.status = status;
  }
}

export const apiUrl = (path) => config.api + path;

// `auth(method, url, bodyText)` returns the Authorization value (see basicAuth, hawk.js).
export async function request(method, path, { body, auth, keepalive = false } = {}) {
  const url = apiUrl(path);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = { Accept: "application/json" };
  if (text !== undefined) headers["Content-Type"] = "application/json";
  if (auth) headers.Authorization = await auth(method, url, text);
  let response;
  try {
    response = await fetch(url, { method, headers, body: text, keepalive, credentials: "omit" });
  } catch (error) {
    throw new ApiError(null, 0, `could not reach the server: ${error.message}`);
  }
  noteServerDate(response.headers.get("Date"));
  const data = await readJson(response);
  if (!response.ok || (data && data.error)) {
    const errno = data && typeof data.errno === "number" ? data.errno : response.status;
    throw new ApiError(errno, response.status, data && data.message);
  }
  return { data, headers: response.headers };
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// A participant's credentials after an anonymous join: the token alone, no colon (§3.4).
export const basicAuth = (sessionToken) => async () => `Basic ${btoa(sessionToken)}`;

// The owner's web client at `/`: a Hawk session kept in this browser, and its rooms —
// create (encrypted name), list with participants, rename, delete, copy the link.

import { request } from "./api.js";
import { forgetSession, register, session } from "./owner-session.js";
import { newKey, openContext, roomTitle, sealContext, unwrapRoomKey } from "./roomkey.js";

const $ = (id) => document.getElementById(id);
let owner = null;

function notify(text) {
  $("notice").textContent = text;
}

// A Hawk request; a session the server forgot is replaced once by a new one.
async function signed(method, path, body) {
  try {
    return (await request(method, path, { body, auth: owner.auth })).data;
  } catch (error) {
    if (error.status !== 401) throw error;
    forgetSession();
    owner = await register();
    return (await request(method, path, { body, auth: owner.auth })).data;
  }
}

async function readRoom(room) {
  try {
    const key = await unwrapRoomKey(owner.profileKey, room.context);
    return { key, details: await openContext(key, room.context) };
  } catch {
    return { key: null, details: {} }; // made elsewhere: no key of ours
  }
}

async function showRooms() {
  const rooms = await signed("GET", "/rooms");
  const items = await Promise.all(
    rooms
      .filter((room) => !room.deleted)
      .sort((a, b) => b.ctime - a.ctime)
      .map(async (room) => renderRoom(room, await readRoom(room))),
  );
  $("rooms").replaceChildren(...items);
  $("no-rooms").hidden = items.length > 0;
}

function renderRoom(room, { key, details }) {
  const item = $("room-template").content.firstElementChild.cloneNode(true);
  const title = roomTitle(details) || "(no name)";
  const link = key ? `${room.roomUrl}#${key}` : room.roomUrl;
  item.dataset.token = room.roomToken;
  item.querySelector(".title").textContent = title;
  const names = (room.participants || []).map((p) => p.displayName || "Guest");
  item.querySelector(".who").textContent = names.length
    ? `In the room: ${names.join(", ")}`
    : "Nobody is in the room.";
  item.querySelector(".link").value = link;
  item.querySelector(".open").href = link;
  item.querySelector(".open").setAttribute("aria-label", `Join ${title} as its owner`);
  item.querySelector(".copy").addEventListener("click", () => copy(item, link));
  bindDelete(item.querySelector(".delete"), room, title);
  const rename = item.querySelector(".rename");
  const input = rename.querySelector("input");
  input.value = title === "(no name)" ? "" : title;
  input.id = `rename-${room.roomToken}`;
  rename.querySelector("label").htmlFor = input.id;
  rename.querySelector("label").textContent = `New name for ${title}`;
  rename.addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => renameRoom(room, key, details, input.value.trim()), "Room renamed.");
  });
  return item;
}

async function copy(item, link) {
  try {
    await navigator.clipboard.writeText(link);
    notify("Link copied.");
  } catch {
    item.querySelector(".link").select();
    notify("Press Ctrl+C (or long-press) to copy the selected link.");
  }
}

// Two clicks, no dialog: the first arms the button, the second deletes.
function bindDelete(button, room, title) {
  button.addEventListener("click", () => {
    if (button.dataset.armed !== "true") {
      button.dataset.armed = "true";
      button.textContent = `Really delete “${title}”?`;
      return;
    }
    act(() => signed("DELETE", `/rooms/${room.roomToken}`), "Room deleted.");
  });
}

async function renameRoom(room, key, details, name) {
  if (!key) throw new Error("this room's key is not stored in this browser");
  const context = await sealContext(key, owner.profileKey, { ...details, roomName: name });
  await signed("PATCH", `/rooms/${room.roomToken}`, { context });
}

async function createRoom(name, maxSize) {
  const key = await newKey();
  const context = await sealContext(key, owner.profileKey, { roomName: name, urls: [] });
  await signed("POST", "/rooms", { roomOwner: "-", maxSize, context });
}

// Runs an action, then shows the fresh list and what happened (or why not).
async function act(action, done) {
  try {
    await action();
    await showRooms();
    notify(done);
  } catch (error) {
    notify(error.errno === null ? "Could not connect to the server." : `Failed: ${error.message}`);
  }
}

$("create").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("new-name").value.trim();
  const size = Number($("new-size").value);
  act(() => createRoom(name, size), `Room “${name}” created.`).then(() => {
    $("new-name").value = "";
  });
});
$("reload").addEventListener("click", () => act(() => {}, "List refreshed."));

// Who is in which room changes on its own: re-read the list now and then, unless the
// person is in the middle of renaming or deleting (a redraw would undo that).
const POLL_MS = 15_000;
setInterval(() => {
  const busy = document.activeElement?.closest("#rooms form") || $("rooms").querySelector("[data-armed]");
  if (owner && !document.hidden && !busy) showRooms().catch(() => {});
}, POLL_MS);

(async () => {
  try {
    owner = await session();
    await showRooms();
    document.body.dataset.ready = "true";
  } catch (error) {
    notify(error.errno === null ? "Could not connect to the server." : `Failed: ${error.message}`);
  }
})();

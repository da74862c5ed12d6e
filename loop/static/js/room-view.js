// Everything the room page shows: one visible section at a time (status message, join
// form, call), video tiles with names, the chat log. No call logic here.

const $ = (id) => document.getElementById(id);

// [text, offer a retry]; the errno mapping is client-usage.md §3.5.
const MESSAGES = {
  loading: ["Loading the conversation…", false],
  joining: ["Starting your camera and joining…", false],
  expired: ["Sorry, you cannot join this conversation. The link may be expired or invalid.", false],
  full: ["This conversation is full: there is no seat left for you.", false],
  network: ["Could not connect to the server.", true],
  unknown: ["Something went wrong.", true],
  "camera-refused": [
    "Your camera and microphone are blocked. Allow them for this site in your browser, then try again.",
    true,
  ],
  "camera-missing": ["No camera or microphone could be started on this device.", true],
  left: ["You left the conversation.", true],
  removed: ["The room's owner removed you from this conversation.", false],
  "room-deleted": ["This conversation has ended: its room was deleted.", false],
  replaced: ["You joined this conversation from another tab or window.", false],
};

export function stateForError(error) {
  if (error?.errno === null || error?.errno === undefined) return "network";
  if (error.errno === 105 || error.errno === 111) return "expired";
  if (error.errno === 202) return "full";
  return "unknown";
}

export function setTitle(text) {
  $("room-name").textContent = text || "Conversation";
  document.title = text ? `${text} — Loop` : "Loop conversation";
}

function showSection(id) {
  for (const section of ["status", "join", "call"]) $(section).hidden = section !== id;
}

export function showMessage(key) {
  const [text, retry] = MESSAGES[key] || MESSAGES.unknown;
  showSection("status");
  $("status").dataset.state = key;
  $("status-text").textContent = text;
  $("retry").hidden = !retry;
  $("retry").textContent = key === "left" ? "Join again" : "Try again";
  if (retry) $("retry").focus();
}

export function onRetry(handler) {
  $("retry").addEventListener("click", handler);
}

export function showJoin(name, onJoin) {
  showSection("join");
  const input = $("display-name");
  input.value = name;
  $("join").addEventListener("submit", (event) => {
    event.preventDefault();
    if ($("join-button").disabled) return; // one seat per page, however many clicks
    $("join-button").disabled = true;
    onJoin(input.value.trim() || "Guest");
  });
  $("join-button").focus();
}

export function showCall() {
  showSection("call");
  $("status").dataset.state = "in-call";
}

// A tile: a video with the member's name, a note ("connecting…"), optional Remove button.
export function addTile(id, name, { local = false, screen = false, onRemove = null } = {}) {
  removeTile(id);
  const tile = document.createElement("figure");
  tile.className = ["tile", local && "local", screen && "screen"].filter(Boolean).join(" ");
  tile.id = `tile-${id}`;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  video.muted = local; // never play one's own microphone back
  const caption = document.createElement("figcaption");
  const label = document.createElement("span");
  label.className = "name";
  label.textContent = name;
  const note = document.createElement("span");
  note.className = "note";
  note.setAttribute("role", "status");
  caption.append(label, note);
  if (onRemove) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "remove";
    button.textContent = "Remove";
    button.setAttribute("aria-label", `Remove ${name} from the room`);
    button.addEventListener("click", onRemove);
    caption.append(button);
  }
  tile.append(video, caption);
  video.setAttribute("aria-label", `Video of ${name}`);
  $("tiles").append(tile);
  return tile;
}

export function setTileStream(id, stream) {
  const video = document.querySelector(`#tile-${CSS.escape(id)} video`);
  if (video) video.srcObject = stream;
}

export function setTileNote(id, text) {
  const note = document.querySelector(`#tile-${CSS.escape(id)} .note`);
  if (note) note.textContent = text;
}

export function removeTile(id) {
  document.getElementById(`tile-${id}`)?.remove();
}

export function clearTiles() {
  $("tiles").replaceChildren();
}

export function addChatLine(name, text) {
  const item = document.createElement("li");
  const who = document.createElement("strong");
  who.textContent = `${name}: `;
  item.append(who, document.createTextNode(text));
  $("chat-log").append(item);
  item.scrollIntoView({ block: "nearest" });
}

export function onChat(handler) {
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("chat-text");
    const text = input.value.trim();
    if (text) handler(text);
    input.value = "";
  });
}

// A toggle button: `aria-pressed` carries its state, `onToggle(pressed)` acts on it.
export function bindToggle(id, onToggle) {
  const button = $(id);
  button.addEventListener("click", async () => {
    const pressed = button.getAttribute("aria-pressed") !== "true";
    if ((await onToggle(pressed)) !== false) setPressed(id, pressed);
  });
}

export function setPressed(id, pressed) {
  $(id).setAttribute("aria-pressed", String(pressed));
}

export function onHangUp(handler) {
  $("hang-up").addEventListener("click", handler);
}

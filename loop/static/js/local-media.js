// The camera, the microphone and a shared screen, with the refusals told apart.

export class MediaRefused extends Error {
  constructor(kind, cause) {
    super(cause?.message || kind);
    this.kind = kind; // "refused" (permission denied) or "missing" (no such device)
  }
}

export async function openCamera() {
  if (!navigator.mediaDevices?.getUserMedia) throw new MediaRefused("unsupported");
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: { ideal: 640 }, height: { ideal: 480 } },
    });
  } catch (error) {
    if (error.name === "NotAllowedError" || error.name === "SecurityError") {
      throw new MediaRefused("refused", error);
    }
    throw new MediaRefused("missing", error);
  }
}

// Resolves to null when the person cancels the picker.
export async function openScreen() {
  try {
    return await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch {
    return null;
  }
}

// Mutes by disabling the tracks: the others receive black video / silence at once,
// without a renegotiation.
export function setEnabled(stream, kind, enabled) {
  for (const track of stream.getTracks()) if (track.kind === kind) track.enabled = enabled;
}

export function stop(stream) {
  for (const track of stream.getTracks()) track.stop();
}

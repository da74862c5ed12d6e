// Byte helpers shared by the crypto modules: hex, base64 and UTF-8.

export const utf8 = (text) => new TextEncoder().encode(text);

export function hexToBytes(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
  return bytes;
}

export const bytesToHex = (bytes) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

export function toBase64(bytes) {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

// Accepts the CR LF line breaks Firefox's encoder put into room contexts.
export function fromBase64(text) {
  const binary = atob(text.replace(/\s+/g, ""));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export const randomBytes = (size) => crypto.getRandomValues(new Uint8Array(size));

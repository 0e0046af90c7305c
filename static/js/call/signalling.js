// The call's signalling socket (docs/signalling.md): a LiveSocket with a short heartbeat, that
// says which tab it is so a reload takes this side of the call over from the old socket.

import { LiveSocket } from "../live-socket.js";

const PING_MS = 5000;
const PONG_TIMEOUT_MS = 10000;

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Kept for the tab's life: a reload takes this side of the call over from the old socket.
function clientId() {
  const key = "call-client";
  try {
    let id = sessionStorage.getItem(key);
    if (!id) {
      id = newId();
      sessionStorage.setItem(key, id);
    }
    return id;
  } catch {
    return newId();
  }
}

// A started socket; `handlers` are LiveSocket's onOpen, onMessage, onRefused and onRetry.
export function openSignalling(path, handlers) {
  const socket = new LiveSocket(path, {
    pingMs: PING_MS,
    pongTimeoutMs: PONG_TIMEOUT_MS,
    baseDelayMs: 500,
    maxDelayMs: 10000,
    query: () => `?client=${encodeURIComponent(clientId())}`,
    ...handlers,
  });
  socket.start();
  return socket;
}

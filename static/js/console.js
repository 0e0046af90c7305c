// The doctor's console: a socket says when something changed; the panel is re-rendered by the
// server (one renderer, translated there). Forms work without JavaScript too. The console
// counts nothing itself (no `queue` frames): every panel is read whole from the server.

import { LiveSocket, csrfToken } from "./live-socket.js";

const root = document.querySelector("[data-console]");
const strings = JSON.parse(document.getElementById("console-strings")?.textContent || "{}");
const PING_MS = 10000;
const PONG_TIMEOUT_MS = 8000;
const FALLBACK_MS = 5000;

let fallbackTimer = null;
let refreshing = null;
let refreshAgain = false;
let audio = null;
// What the doctor has typed or ticked but not yet sent survives a live refresh of the panel.
const edits = new Map();

function setConnection(text) {
  const node = document.querySelector("[data-connection]");
  if (node) node.textContent = text;
}

// One read at a time; news that arrives during a read may be newer than what the read sees,
// so it asks for one more read after it (never lost, never more than one waiting).
async function refreshPanel() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      const response = await fetch(root.dataset.panelUrl, { credentials: "same-origin" });
      if (response.ok) {
        const focused = document.activeElement?.id;
        root.innerHTML = await response.text();
        for (const [id, value] of edits) {
          const input = document.getElementById(id);
          if (!input) continue;
          if (input.type === "checkbox" || input.type === "radio") input.checked = value;
          else input.value = value;
        }
        if (focused) document.getElementById(focused)?.focus();
      } else if (response.status === 401 || response.status === 403) {
        location.reload();
      }
    } finally {
      refreshing = null;
      if (refreshAgain) {
        refreshAgain = false;
        refreshPanel();
      }
    }
  })();
  return refreshing;
}

function alertDoctor() {
  try {
    if (audio) {
      const tone = audio.createOscillator();
      tone.frequency.value = 660;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    }
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification(strings.offer_title, { body: strings.offer_body, tag: "offer" });
    }
  } catch (error) {
    console.warn("alert failed", error);
  }
}

function onMessage(message) {
  if (message.type === "console") refreshPanel();
  else if (message.type === "event") {
    if (message.event === "offer") alertDoctor();
    refreshPanel();
  } else if (message.type === "error") console.warn("console:", message.code, message.message);
}

function connect() {
  const socket = new LiveSocket(root.dataset.wsPath, {
    pingMs: PING_MS,
    pongTimeoutMs: PONG_TIMEOUT_MS,
    onOpen() {
      stopFallback();
      setConnection(strings.live);
    },
    onMessage,
    onRefused() {
      location.reload(); // signed out or no longer a doctor: the server says where to go
    },
    onRetry(failures) {
      setConnection(strings.reconnecting);
      if (failures > 2) startFallback();
    },
  });
  socket.start();
}

// Without a socket, keep duty alive and the panel fresh over plain HTTP.
function startFallback() {
  if (fallbackTimer) return;
  fallbackTimer = setInterval(() => {
    fetch("/api/console/heartbeat/", {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
    });
    refreshPanel();
  }, FALLBACK_MS);
}

function stopFallback() {
  clearInterval(fallbackTimer);
  fallbackTimer = null;
}

async function submitAction(event) {
  const form = event.target.closest("form[data-console-action]");
  if (!form) return;
  event.preventDefault();
  edits.clear();
  const data = new FormData(form);
  if (event.submitter?.name) data.set(event.submitter.name, event.submitter.value);
  // form.action would be the button named "action": read the attribute.
  await fetch(form.getAttribute("action"), {
    method: "POST",
    body: data,
    headers: { "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
  });
  await refreshPanel();
}

function enableAlerts(event) {
  const AudioContext = window.AudioContext || window.webkitAudioContext;
  if (AudioContext && !audio) audio = new AudioContext();
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission();
  }
  event.currentTarget.textContent = strings.alerts_on;
}

function remember(event) {
  const input = event.target;
  if (!input.id) return;
  edits.set(input.id, input.type === "checkbox" || input.type === "radio" ? input.checked : input.value);
}

if (root) {
  root.addEventListener("submit", submitAction);
  root.addEventListener("change", remember);
  root.addEventListener("input", remember);
  document.querySelector("[data-enable-alerts]")?.addEventListener("click", enableAlerts);
  if ("WebSocket" in window) connect();
  else startFallback();
}

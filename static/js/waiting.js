// The waiting room: live position over a WebSocket, with a polling fallback.
//
// The server broadcasts each queue change once per OPD as the keys ([priority, seq]) of tickets
// that joined or left, with the OPD's revision; this page works out its own position from them
// (queue-line.js counts each change once) and asks for a full snapshot now and then to stay
// exact. Protocol: docs/waiting-room.md.

import { LiveSocket, csrfToken } from "./live-socket.js";
import { followOutcome } from "./visit-outcome.js";
import { QueueLine } from "./queue-line.js";

const root = document.querySelector("[data-waiting-room]");
const strings = JSON.parse(document.getElementById("waiting-strings")?.textContent || "{}");
// Django's JavaScript catalogue (/jsi18n/<language>/, loaded before this module) words the
// estimated wait with the same entries and rule as the server's first render
// (queues.views.eta_phrase); untranslated English if it failed to load.
const i18n = globalThis.django || {
  gettext: (text) => text,
  ngettext: (one, many, count) => (count === 1 ? one : many),
  interpolate: (text, values) => text.replace(/%\((\w+)\)s/g, (match, key) => values[key]),
};

const FINAL = new Set(["completed", "cancelled", "no_show", "left"]);
const PING_MS = 20000;
const PONG_TIMEOUT_MS = 10000;
const RESYNC_MS = 30000;
const POLL_MS = 5000;
// Changes from several web processes may arrive out of order, in frames up to 0.5 s apart: a
// revision still missing after this long was lost, and a snapshot repairs it.
const GAP_MS = 3000;

const $ = (selector) => document.querySelector(selector);
const line = new QueueLine();
const state = {
  status: null,
  doctors: 0,
  perPatient: 360,
  callDeadline: null,
};

let socket = null;
let resyncTimer = null;
let pollTimer = null;
let countdownTimer = null;
let gapTimer = null;
let audio = null;
let answered = false; // CALL NOW pressed on this page: go to the call once it starts

function setText(selector, text) {
  const node = $(selector);
  if (node && node.textContent !== String(text)) node.textContent = text;
}

function etaText() {
  if (line.position === null || state.doctors === 0) {
    return i18n.gettext("when a doctor comes on duty");
  }
  const seconds = Math.ceil(line.position / state.doctors) * state.perPatient;
  if (seconds < 60) return i18n.gettext("less than a minute");
  const minutes = Math.ceil(seconds / 60);
  const phrase = i18n.ngettext("about %(minutes)s minute", "about %(minutes)s minutes", minutes);
  return i18n.interpolate(phrase, { minutes }, true);
}

function render() {
  const active = !FINAL.has(state.status);
  const facts = $(".queue-facts");
  if (facts) facts.hidden = !active || state.status !== "waiting";
  setText("[data-position]", line.position ?? "–");
  setText("[data-waiting]", line.waiting);
  setText("[data-doctors]", state.doctors);
  setText("[data-eta]", etaText());
  if (strings[state.status]) setText("[data-status-text]", strings[state.status]);
  $("#call").hidden = state.status !== "called";
  $("#in-call").hidden = state.status !== "in_consultation";
  if (state.status === "called") startCountdown();
  if (state.status === "completed") followOutcome($("[data-visit-outcome]"));
  if (state.status === "in_consultation" && answered) {
    answered = false;
    location.assign(root.dataset.callUrl);
  }
}

function startCountdown() {
  if (countdownTimer || state.callDeadline === null) return;
  const tick = () => {
    const left = Math.max(0, Math.round((state.callDeadline - Date.now()) / 1000));
    setText("[data-countdown]", left);
    if (left === 0 || state.status !== "called") {
      clearInterval(countdownTimer);
      countdownTimer = null;
    }
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

function applySnapshot(snapshot) {
  const was = state.status;
  state.status = snapshot.status;
  line.snapshot(snapshot);
  state.doctors = snapshot.doctors_on_duty;
  state.perPatient = snapshot.seconds_per_patient;
  if (snapshot.call_seconds_left !== null && snapshot.call_seconds_left !== undefined) {
    state.callDeadline = Date.now() + snapshot.call_seconds_left * 1000;
  }
  render();
  if (state.status === "called" && was !== "called") alertPatient();
  if (FINAL.has(state.status)) stop();
}

function applyChanges(changes) {
  line.receive(changes);
  render();
  if (line.hasGap() && !gapTimer) {
    gapTimer = setTimeout(() => {
      gapTimer = null;
      if (line.hasGap()) resync();
    }, GAP_MS);
  }
}

function applyTicket(update) {
  const was = state.status;
  if (update.key) line.key = update.key;
  if (update.status) state.status = update.status;
  if (update.status && update.status !== "waiting") line.position = null;
  if (update.call_seconds_left !== undefined) {
    state.callDeadline = Date.now() + update.call_seconds_left * 1000;
  }
  render();
  if (update.reason === "call_missed") setText("[data-status-text]", strings.call_missed);
  if (state.status === "called" && was !== "called") alertPatient();
  if (state.status === "waiting") resync();
  if (FINAL.has(state.status)) stop();
}

function alertPatient() {
  try {
    if (audio) {
      for (let i = 0; i < 3; i += 1) {
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        tone.frequency.value = 880;
        tone.connect(gain).connect(audio.destination);
        gain.gain.setValueAtTime(0.3, audio.currentTime + i * 0.5);
        tone.start(audio.currentTime + i * 0.5);
        tone.stop(audio.currentTime + i * 0.5 + 0.3);
      }
    }
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification(strings.notify_title, { body: strings.notify_body, tag: "call-now" });
    }
    navigator.vibrate?.([300, 200, 300, 200, 300]);
  } catch (error) {
    console.warn("alert failed", error);
  }
  $("[data-testid=call-now]")?.focus();
}

function send(message) {
  return Boolean(socket?.send(message));
}

function resync() {
  if (!send({ type: "resync" })) poll();
}

function onMessage(message) {
  switch (message.type) {
    case "snapshot":
      applySnapshot(message);
      break;
    case "queue":
      applyChanges(message.changes || []);
      break;
    case "stats":
      if (typeof message.doctors_on_duty === "number") {
        state.doctors = message.doctors_on_duty;
        render();
      }
      break;
    case "ticket":
      applyTicket(message);
      break;
    case "error":
      // A resync sooner than the server allows: ask again when it says.
      if (message.code === "rate_limited" && message.retry_after) {
        setTimeout(resync, message.retry_after * 1000);
      } else {
        console.warn("waiting room:", message.code, message.message);
      }
      break;
    default:
      break;
  }
}

function connect() {
  socket = new LiveSocket(root.dataset.wsPath, {
    pingMs: PING_MS,
    pongTimeoutMs: PONG_TIMEOUT_MS,
    onOpen() {
      stopPolling();
      setText("[data-connection]", strings.live);
      clearInterval(resyncTimer);
      resyncTimer = setInterval(resync, RESYNC_MS + Math.random() * 5000);
    },
    onMessage,
    onRefused() {
      // Refused for good (signed out, not yours, closed): show the last known state.
      clearInterval(resyncTimer);
      poll();
    },
    onRetry(failures) {
      clearInterval(resyncTimer);
      setText("[data-connection]", failures > 2 ? strings.polling : strings.reconnecting);
      if (failures > 2) startPolling();
    },
  });
  socket.start();
}

async function poll() {
  try {
    const response = await fetch(root.dataset.statusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) applySnapshot(await response.json());
  } catch (error) {
    console.warn("status check failed", error);
  }
}

function startPolling() {
  if (!pollTimer) pollTimer = setInterval(poll, POLL_MS);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

function stop() {
  clearInterval(resyncTimer);
  stopPolling();
  socket?.stop();
  const facts = $(".queue-facts");
  if (facts) facts.hidden = true;
}

async function answer(event) {
  event.preventDefault();
  answered = true;
  if (send({ type: "answer" })) return;
  const response = await fetch(root.dataset.answerUrl, {
    method: "POST",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    credentials: "same-origin",
  });
  if (response.ok) applySnapshot(await response.json());
  else poll();
}

function enableAlerts(event) {
  const AudioContext = window.AudioContext || window.webkitAudioContext;
  if (AudioContext && !audio) audio = new AudioContext();
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission();
  }
  event.currentTarget.textContent = strings.alerts_on;
}

if (root) {
  document.querySelector("[data-answer-form]")?.addEventListener("submit", answer);
  document.querySelector("[data-enable-alerts]")?.addEventListener("click", enableAlerts);
  if ("WebSocket" in window) connect();
  else {
    setText("[data-connection]", strings.polling);
    startPolling();
  }
}

// The video visit's page: it wires the call's concerns to the DOM. Each concern is its own
// module in call/: signalling (the socket /ws/call/<room>/, protocol in docs/signalling.md),
// negotiation (the peer connection; no DOM, unit-tested in node), media (camera and
// microphone), quality (bitrate and the weak-network indicator) and chat. What the page itself
// knows lives in `call`.

import { csrfToken } from "./live-socket.js";
import { followOutcome } from "./visit-outcome.js";
import { Chat } from "./call/chat.js";
import { Media } from "./call/media.js";
import { Negotiation } from "./call/negotiation.js";
import { QualityIndicator, applyBandwidth } from "./call/quality.js";
import { openSignalling } from "./call/signalling.js";

const root = document.querySelector("[data-call]");
const strings = JSON.parse(document.getElementById("call-strings")?.textContent || "{}");
const $ = (selector) => root.querySelector(selector);
const side = root?.dataset.side;
const isDoctor = side === "doctor";

// What the page knows beyond its concerns: what the other side told us, the socket, and
// whether the call is over for this page.
const call = {
  peerState: {},
  peerSeen: false,
  signalling: null,
  finished: false, // the consultation ended or this page may not rejoin
  left: false, // the patient left; "Rejoin" brings them back
  remote: null, // the stream the other side's tracks play in, one per connection
};

// --- Small helpers ---------------------------------------------------------------------------

function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

function status(text) {
  setText($("[data-call-status]"), text);
}

function notice(text) {
  const node = $("[data-call-notice]");
  if (!node) return;
  node.hidden = !text;
  setText(node, text || "");
}

function send(message) {
  return Boolean(call.signalling?.send(message));
}

function sendState(extra = {}) {
  send({ type: "state", ...media.local, connection: negotiation.connectionState, ...extra });
}

// --- The concerns ----------------------------------------------------------------------------

const media =
  root && new Media({ video: $("[data-local-video]"), notice, strings, offerer: isDoctor });

const quality =
  root &&
  new QualityIndicator({
    badge: $("[data-quality]"),
    details: $("[data-quality-details]"),
    root,
    strings,
  });

const chat = root && new Chat({ list: $("[data-chat-list]"), side, strings, send, notice });

const negotiation = new Negotiation({
  polite: !isDoctor,
  loopbackOnly: root?.dataset.loopbackOnly === "true",
  newPeer: (configuration) => new RTCPeerConnection(configuration),
  send,
  attachTracks: (peer) => media.attachTracks(peer),
  isActive: () => !call.finished && !call.left,
  onPeer(peer) {
    quality.reset();
    call.remote = new MediaStream();
    $("[data-remote-video]").srcObject = call.remote;
    root.dataset.connectionState = peer.connectionState;
  },
  onTrack(track) {
    const { remote } = call;
    for (const old of remote.getTracks()) if (old.kind === track.kind) remote.removeTrack(old);
    remote.addTrack(track);
    playRemote();
  },
  onIceState(state) {
    root.dataset.iceState = state;
  },
  onConnectionState(state) {
    root.dataset.connectionState = state;
    sendState({ connection: state });
    renderStatus();
    if (state === "connected") {
      root.dataset.connectedAt = String(Date.now());
      applyBandwidth(negotiation.pc, media.local.low_bandwidth);
    }
  },
  onRoomReady() {
    root.dataset.connectionState = negotiation.pc.connectionState;
    sendState();
  },
});

function playRemote() {
  const video = $("[data-remote-video]");
  video.play().catch(() => {
    $("[data-play-sound]").hidden = false;
  });
}

// --- Signalling socket -----------------------------------------------------------------------

function connect() {
  if (call.finished || call.left) return;
  call.signalling?.stop();
  root.dataset.socketState = "connecting";
  call.signalling = openSignalling(root.dataset.wsPath, {
    onOpen() {
      root.dataset.socketState = "open";
      renderStatus();
    },
    onMessage,
    onRefused,
    onRetry() {
      root.dataset.socketState = "reconnecting";
      renderStatus();
    },
  });
}

const REFUSALS = {
  4000: "replaced",
  4401: "signed_out",
  4404: "not_found",
  4410: "side_taken",
  4429: "rate_limited",
};

function onRefused(code) {
  root.dataset.socketState = "closed";
  if (call.finished) return;
  if (code === 4409) {
    showEnded(null);
  } else if (code === 4410) {
    // Another tab holds this side; it may be closing. Let the person try again.
    stopCall();
    showLeft(strings.side_taken);
  } else {
    call.finished = true;
    stopCall();
    status(strings[REFUSALS[code]] || strings.ended_other);
  }
}

function onMessage(message) {
  switch (message.type) {
    case "room":
      onRoom(message);
      break;
    case "peer":
      onPeer(message);
      break;
    case "offer":
    case "answer":
    case "candidate":
      negotiation.receive(message);
      break;
    case "state":
      call.peerState = { ...call.peerState, ...message };
      renderPeer();
      break;
    case "chat":
      chat.add(message);
      break;
    case "ended":
      showEnded(message.status);
      break;
    case "error":
      // Chat beyond what a person types is refused (docs/signalling.md): say so.
      if (message.code === "chat_rate_limited" || message.code === "chat_full") {
        notice(strings[message.code]);
      }
      console.warn("call:", message.code, message.message);
      break;
    default:
      break;
  }
}

function onRoom(message) {
  negotiation.room({
    iceServers: message.ice_servers || [],
    peer: message.peer,
    peerJoin: message.peer_join,
  });
  for (const line of message.chat || []) chat.add(line);
  call.peerSeen ||= negotiation.peerPresent;
  renderPeer();
  renderStatus();
}

function onPeer(message) {
  if (message.event === "joined") {
    if (!negotiation.peerJoined(message.join)) return; // already acted on
    call.peerSeen = true;
    call.peerState = {};
    sendState(); // what the newcomer should know of us: muted, camera…
  } else if (message.event === "left") {
    negotiation.peerLeft();
    call.peerState = {};
  }
  renderPeer();
  renderStatus();
}

// --- What the page shows ---------------------------------------------------------------------

// One line says where the call stands (announced); the video shows it too, for the eyes.
function renderStatus() {
  if (call.finished || call.left) return;
  const connection = negotiation.connectionState;
  const peerPresent = negotiation.peerPresent;
  let text = strings.connecting;
  if (root.dataset.socketState === "reconnecting") text = strings.reconnecting;
  else if (!peerPresent) text = call.peerSeen ? strings.peer_left : strings.peer_waiting;
  else if (connection === "connected") text = strings.connected;
  else if (connection === "disconnected" || connection === "failed") text = strings.reconnecting;
  status(text);
  const placeholder = $("[data-placeholder]");
  placeholder.hidden = connection === "connected" && peerPresent;
  setText(placeholder, text);
}

// What the other side told us about their microphone, camera and connection.
function renderPeer() {
  const { peerState } = call;
  const notes = [];
  if (negotiation.peerPresent) {
    if (peerState.muted) notes.push(strings.peer_muted);
    if (peerState.audio_only) notes.push(strings.peer_audio_only);
    else if (peerState.camera === false) notes.push(strings.peer_camera_off);
    if (peerState.low_bandwidth) notes.push(strings.peer_low_bandwidth);
    const connection = peerState.connection;
    if (connection && connection !== "connected" && connection !== "new") {
      const label = strings[`state_${connection}`] || connection;
      notes.push(strings.peer_connection.replace("{state}", label));
    }
  }
  const node = $("[data-peer-notes]");
  setText(node, notes.join(" "));
  node.hidden = notes.length === 0;
  root.dataset.peerPresent = String(negotiation.peerPresent);
  root.dataset.peerConnection = peerState.connection || "";
}

function renderToggles() {
  const { local } = media;
  const pressed = {
    muted: local.muted,
    camera_off: !local.camera,
    audio_only: local.audio_only,
    low_bandwidth: local.low_bandwidth,
  };
  for (const button of root.querySelectorAll("[data-toggle]")) {
    button.setAttribute("aria-pressed", String(pressed[button.dataset.toggle]));
  }
  const camera = $('[data-toggle="camera_off"]');
  camera.disabled = local.audio_only;
}

async function toggle(event) {
  const which = event.currentTarget.dataset.toggle;
  if (which === "muted") {
    media.toggleMuted();
  } else if (which === "camera_off") {
    media.toggleCamera();
  } else if (which === "audio_only") {
    if ((await media.setAudioOnly(!media.local.audio_only)) && negotiation.pc) {
      await media.attachTracks(negotiation.pc);
      await applyBandwidth(negotiation.pc, media.local.low_bandwidth);
    }
  } else if (which === "low_bandwidth") {
    media.local.low_bandwidth = !media.local.low_bandwidth;
    await applyBandwidth(negotiation.pc, media.local.low_bandwidth);
  }
  renderToggles();
  sendState();
}

async function startMedia() {
  if (await media.start()) renderToggles();
}

// --- Ending, leaving, rejoining --------------------------------------------------------------

function stopCall() {
  call.signalling?.stop();
  negotiation.close();
  root.dataset.connectionState = "closed";
  media.stop();
  $("[data-remote-video]").srcObject = null;
}

function showEnded(endStatus) {
  if (call.finished) return;
  call.finished = true;
  quality.stop();
  stopCall();
  call.signalling = null;
  const text =
    endStatus === "completed"
      ? strings.ended_completed
      : endStatus === "waiting"
        ? strings.ended_waiting
        : strings.ended_other;
  root.dataset.ended = endStatus || "closed";
  status(text);
  setText($("[data-ended-text]"), text);
  $("[data-controls]").hidden = true;
  $("[data-left-panel]").hidden = true;
  const panel = $("[data-ended-panel]");
  panel.hidden = false;
  panel.focus();
  if (!isDoctor && endStatus === "completed") {
    // No dead end: the prescription (or that it is being prepared), the follow-up date and
    // all the family's consultations, instead of a way back to a finished waiting room.
    $("[data-back]").hidden = true;
    followOutcome($("[data-visit-outcome]"));
  }
}

function showLeft(text) {
  setText($("[data-left-text]"), text);
  status(text);
  $("[data-controls]").hidden = true;
  const panel = $("[data-left-panel]");
  panel.hidden = false;
  panel.focus();
}

async function hangUp() {
  if (isDoctor) {
    // Ends the consultation; the server answers with "ended". Without a socket, over HTTP.
    if (send({ type: "hangup" })) return;
    const response = await fetch(root.dataset.endUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) showEnded("completed");
    return;
  }
  call.left = true;
  send({ type: "hangup" }); // the server records the leave and tells the doctor
  stopCall();
  root.dataset.socketState = "closed";
  showLeft(strings.left);
}

async function rejoin() {
  call.left = false;
  call.finished = false;
  call.peerState = {};
  $("[data-left-panel]").hidden = true;
  $("[data-controls]").hidden = false;
  negotiation.peerLeft();
  status(strings.joining);
  await startMedia();
  connect();
}

// --- Start -----------------------------------------------------------------------------------

async function start() {
  for (const button of root.querySelectorAll("[data-toggle]")) {
    button.addEventListener("click", toggle);
  }
  $("[data-hangup]").addEventListener("click", hangUp);
  $("[data-rejoin]").addEventListener("click", rejoin);
  $("[data-chat-form]").addEventListener("submit", (event) => chat.submit(event));
  $("[data-play-sound]").addEventListener("click", (event) => {
    event.currentTarget.hidden = true;
    playRemote();
  });
  if (!window.RTCPeerConnection || !("WebSocket" in window)) {
    status(strings.unsupported);
    return;
  }
  status(strings.joining);
  await startMedia();
  connect();
  quality.start(() => negotiation.pc);
}

if (root) {
  // For tests and support: the connection, and what this page knows.
  window.__call = {
    get pc() {
      return negotiation.pc;
    },
    state: () => ({
      side,
      connection: negotiation.pc ? negotiation.pc.connectionState : "closed",
      ice: negotiation.pc ? negotiation.pc.iceConnectionState : "closed",
      socket: root.dataset.socketState,
      peerPresent: negotiation.peerPresent,
      peer: { ...call.peerState },
      local: { ...media.local },
      quality: { ...quality.current },
      ended: root.dataset.ended || null,
    }),
  };
  start();
}

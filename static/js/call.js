// The video visit: camera and microphone, one RTCPeerConnection negotiated over
// /ws/call/<room>/ with the "perfect negotiation" pattern, chat, and a live quality indicator.
// Protocol: docs/signalling.md.
//
// The patient is the polite peer. The doctor offers whenever the other side (re)joins, so
// whichever page arrives or reloads second, media flows again. A page that reloaded is a new
// RTCPeerConnection (new DTLS certificate and SDP session), which a renegotiation of the old
// connection cannot reach: when a description arrives from a session other than the one we
// were talking to, we start over with a fresh connection.

import { LiveSocket, csrfToken } from "./live-socket.js";
import { followOutcome } from "./visit-outcome.js";

const root = document.querySelector("[data-call]");
const strings = JSON.parse(document.getElementById("call-strings")?.textContent || "{}");

const PING_MS = 5000;
const PONG_TIMEOUT_MS = 10000;
const STATS_MS = 2000;
const DISCONNECTED_RESTART_MS = 4000;
const LOW_BANDWIDTH = { maxBitrate: 150_000, scaleResolutionDownBy: 2, maxFramerate: 15 };
const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15, max: 24 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

const $ = (selector) => root.querySelector(selector);
const side = root?.dataset.side;
const isDoctor = side === "doctor";
const loopbackOnly = root?.dataset.loopbackOnly === "true";

// What this side tells the other (protocol field names), and what the other side told us.
const local = { muted: false, camera: true, audio_only: false, low_bandwidth: false };
let peerState = {};
let peerPresent = false;
let peerSeen = false;

let localStream = new MediaStream();
let pc = null;
let iceServers = [];
let makingOffer = false;
let ignoreOffer = false;
let settingRemoteAnswer = false;
let signalChain = Promise.resolve();
let disconnectedTimer = null;

let signalling = null;
let statsTimer = null;
let lastSample = null;
let quality = { label: "unknown", rtt: null, loss: null, kbps: null, framesDecoded: 0 };
let finished = false; // the consultation ended or this page may not rejoin
let left = false; // the patient left; "Rejoin" brings them back
const seenChat = new Set();

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

// In loopback-only mode (tests on one machine) every ICE candidate not on 127.0.0.1 is dropped,
// local or remote, trickled or inside an SDP.
function allowedCandidate(text) {
  if (!loopbackOnly || !text) return true;
  const fields = text.replace(/^a=/, "").split(" ");
  return fields[4] === "127.0.0.1";
}

function filterSdp(sdp) {
  if (!loopbackOnly) return sdp;
  return sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || allowedCandidate(line))
    .join("\r\n");
}

function sessionOf(sdp) {
  const match = /^o=\S+ (\d+) /m.exec(sdp || "");
  return match ? match[1] : null;
}

// --- Media ---------------------------------------------------------------------------------

async function startMedia() {
  localStream = new MediaStream();
  if (!navigator.mediaDevices?.getUserMedia) {
    noMedia();
    return;
  }
  try {
    localStream = await navigator.mediaDevices.getUserMedia({
      video: local.audio_only ? false : VIDEO,
      audio: AUDIO,
    });
  } catch (error) {
    console.warn("camera and microphone:", error);
    try {
      localStream = await navigator.mediaDevices.getUserMedia({ audio: AUDIO });
      local.audio_only = true;
      notice(strings.camera_failed);
    } catch (audioError) {
      console.warn("microphone:", audioError);
      noMedia();
    }
  }
  for (const track of localStream.getAudioTracks()) track.enabled = !local.muted;
  for (const track of localStream.getVideoTracks()) track.enabled = local.camera;
  $("[data-local-video]").srcObject = localStream;
  renderToggles();
}

function noMedia() {
  local.audio_only = true;
  local.muted = true;
  notice(strings.media_failed);
}

function stopMedia() {
  for (const track of localStream.getTracks()) track.stop();
  localStream = new MediaStream();
  $("[data-local-video]").srcObject = null;
}

function transceiverOf(peer, kind) {
  return peer
    .getTransceivers()
    .find((t) => !t.stopped && t.currentDirection !== "stopped" && t.receiver.track.kind === kind);
}

// Make the connection send what we have: replace the track of an existing transceiver (no
// renegotiation), or add one. The doctor, who offers, always asks for both kinds.
async function attachTracks(peer) {
  for (const kind of ["audio", "video"]) {
    const track = localStream.getTracks().find((t) => t.kind === kind) || null;
    const transceiver = transceiverOf(peer, kind);
    if (transceiver) {
      if (track && !transceiver.direction.includes("send")) transceiver.direction = "sendrecv";
      if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
    } else if (track) {
      peer.addTrack(track, localStream);
    } else if (isDoctor) {
      peer.addTransceiver(kind, { direction: "recvonly" });
    }
  }
}

async function applyBandwidth() {
  const sender = pc && transceiverOf(pc, "video")?.sender;
  if (!sender) return;
  const parameters = sender.getParameters();
  if (!parameters.encodings?.length) return;
  for (const encoding of parameters.encodings) {
    if (local.low_bandwidth) Object.assign(encoding, LOW_BANDWIDTH);
    else {
      delete encoding.maxBitrate;
      delete encoding.maxFramerate;
      encoding.scaleResolutionDownBy = 1;
    }
  }
  try {
    await sender.setParameters(parameters);
  } catch (error) {
    console.warn("setParameters:", error);
  }
}

// --- The peer connection -------------------------------------------------------------------

function createPeer() {
  const peer = new RTCPeerConnection({ iceServers });
  pc = peer;
  makingOffer = false;
  ignoreOffer = false;
  settingRemoteAnswer = false;
  lastSample = null;
  const remote = new MediaStream();
  const video = $("[data-remote-video]");
  video.srcObject = remote;

  peer.addEventListener("track", ({ track }) => {
    if (peer !== pc) return;
    for (const old of remote.getTracks()) if (old.kind === track.kind) remote.removeTrack(old);
    remote.addTrack(track);
    playRemote();
  });
  peer.addEventListener("icecandidate", ({ candidate }) => {
    if (peer !== pc) return;
    if (!candidate) {
      send({ type: "candidate", candidate: null });
    } else if (allowedCandidate(candidate.candidate)) {
      const { sdpMid, sdpMLineIndex } = candidate;
      send({ type: "candidate", candidate: { candidate: candidate.candidate, sdpMid, sdpMLineIndex } });
    }
  });
  peer.addEventListener("negotiationneeded", () => {
    // The patient offers only to change a working call (the doctor offers when they meet).
    if (peer !== pc || makingOffer || peer.signalingState !== "stable") return;
    if (!peerPresent || (!isDoctor && !peer.currentRemoteDescription)) return;
    makeOffer();
  });
  peer.addEventListener("iceconnectionstatechange", () => {
    if (peer !== pc) return;
    root.dataset.iceState = peer.iceConnectionState;
    if (peer.iceConnectionState === "failed") peer.restartIce();
  });
  peer.addEventListener("connectionstatechange", () => {
    if (peer !== pc) return;
    onConnectionState(peer);
  });
  return peer;
}

function onConnectionState(peer) {
  const state = peer.connectionState;
  root.dataset.connectionState = state;
  sendState({ connection: state });
  renderStatus();
  clearTimeout(disconnectedTimer);
  if (state === "connected") {
    root.dataset.connectedAt = String(Date.now());
    applyBandwidth();
  } else if (state === "disconnected" || state === "failed") {
    // A network change often leaves ICE "disconnected" for long: the doctor restarts it soon.
    if (isDoctor) {
      disconnectedTimer = setTimeout(() => {
        if (peer === pc && peer.connectionState !== "connected") peer.restartIce();
      }, DISCONNECTED_RESTART_MS);
    }
  }
}

async function freshPeer() {
  if (pc) pc.close();
  createPeer();
  await attachTracks(pc);
  root.dataset.connectionState = pc.connectionState;
}

async function makeOffer() {
  const peer = pc;
  try {
    makingOffer = true;
    await peer.setLocalDescription();
    if (peer === pc) send({ type: peer.localDescription.type, sdp: filterSdp(peer.localDescription.sdp) });
  } catch (error) {
    console.warn("offer:", error);
  } finally {
    makingOffer = false;
  }
}

// The doctor's move whenever the two sides meet: a new offer. While media flows (the other
// side's socket only reconnected) the same connection restarts ICE; otherwise start afresh.
async function peerArrived() {
  if (!isDoctor || !pc || finished || left) return;
  if (pc.remoteDescription) {
    if (pc.connectionState === "connected") pc.restartIce();
    else await freshPeer();
  }
  await makeOffer();
}

async function onDescription(message) {
  if (!pc) return;
  const description = { type: message.type, sdp: filterSdp(message.sdp) };
  const known = pc.remoteDescription;
  if (known && sessionOf(known.sdp) !== sessionOf(description.sdp)) {
    // The other page is new (it reloaded): our connection belongs to its predecessor.
    await freshPeer();
    if (description.type === "answer") {
      await makeOffer();
      return;
    }
  }
  const polite = !isDoctor;
  const readyForOffer =
    !makingOffer && (pc.signalingState === "stable" || settingRemoteAnswer);
  const collision = description.type === "offer" && !readyForOffer;
  ignoreOffer = !polite && collision;
  if (ignoreOffer) return;
  if (description.type === "answer" && pc.signalingState !== "have-local-offer") return;
  settingRemoteAnswer = description.type === "answer";
  await pc.setRemoteDescription(description);
  settingRemoteAnswer = false;
  if (description.type === "offer") {
    await attachTracks(pc);
    await pc.setLocalDescription();
    send({ type: pc.localDescription.type, sdp: filterSdp(pc.localDescription.sdp) });
  }
}

async function onCandidate(message) {
  const candidate = message.candidate;
  if (!pc || !candidate || !candidate.candidate || !allowedCandidate(candidate.candidate)) return;
  try {
    await pc.addIceCandidate(candidate);
  } catch (error) {
    // A candidate for an offer we ignored, or for a connection we replaced.
    if (!ignoreOffer) console.debug("candidate:", error.message);
  }
}

function playRemote() {
  const video = $("[data-remote-video]");
  video.play().catch(() => {
    $("[data-play-sound]").hidden = false;
  });
}

// --- Signalling socket ---------------------------------------------------------------------

function send(message) {
  return Boolean(signalling?.send(message));
}

function sendState(extra = {}) {
  send({ type: "state", ...local, connection: pc ? pc.connectionState : "new", ...extra });
}

function connect() {
  if (finished || left) return;
  signalling?.stop();
  root.dataset.socketState = "connecting";
  signalling = new LiveSocket(root.dataset.wsPath, {
    pingMs: PING_MS,
    pongTimeoutMs: PONG_TIMEOUT_MS,
    baseDelayMs: 500,
    maxDelayMs: 10000,
    query: () => `?client=${encodeURIComponent(clientId())}`,
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
  signalling.start();
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
  if (finished) return;
  if (code === 4409) {
    showEnded(null);
  } else if (code === 4410) {
    // Another tab holds this side; it may be closing. Let the person try again.
    stopCall();
    showLeft(strings.side_taken);
  } else {
    finished = true;
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
      queueSignal(() => onDescription(message));
      break;
    case "candidate":
      queueSignal(() => onCandidate(message));
      break;
    case "state":
      peerState = { ...peerState, ...message };
      renderPeer();
      break;
    case "chat":
      addChat(message);
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

// Descriptions and candidates are applied one after another, in the order they came.
function queueSignal(step) {
  signalChain = signalChain
    .then(() => (finished || left ? undefined : step()))
    .catch((error) => console.warn("signalling:", error));
}

// The other side's joining we have already acted on: when both sides join at once, its
// joining arrives twice (in `room` and as `peer joined`) and must start only one offer.
let knownPeerJoin = null;

function onRoom(message) {
  iceServers = message.ice_servers || [];
  peerPresent = Boolean(message.peer);
  knownPeerJoin = message.peer_join || null;
  for (const chat of message.chat || []) addChat(chat);
  queueSignal(async () => {
    if (!pc) await freshPeer();
    else {
      try {
        pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
      } catch (error) {
        console.debug("setConfiguration:", error.message);
      }
    }
    root.dataset.connectionState = pc.connectionState;
    sendState();
    if (peerPresent) await peerArrived();
  });
  peerSeen ||= peerPresent;
  renderPeer();
  renderStatus();
}

function onPeer(message) {
  if (message.event === "joined") {
    if (message.join && message.join === knownPeerJoin) return; // already acted on
    knownPeerJoin = message.join || null;
    peerPresent = true;
    peerSeen = true;
    peerState = {};
    sendState(); // what the newcomer should know of us: muted, camera…
    queueSignal(peerArrived);
  } else if (message.event === "left") {
    peerPresent = false;
    peerState = {};
  }
  renderPeer();
  renderStatus();
}

// --- What the page shows --------------------------------------------------------------------

// One line says where the call stands (announced); the video shows it too, for the eyes.
function renderStatus() {
  if (finished || left) return;
  const connection = pc ? pc.connectionState : "new";
  let text = strings.connecting;
  if (root.dataset.socketState === "reconnecting") text = strings.reconnecting;
  else if (!peerPresent) text = peerSeen ? strings.peer_left : strings.peer_waiting;
  else if (connection === "connected") text = strings.connected;
  else if (connection === "disconnected" || connection === "failed") text = strings.reconnecting;
  status(text);
  const placeholder = $("[data-placeholder]");
  placeholder.hidden = connection === "connected" && peerPresent;
  setText(placeholder, text);
}

// What the other side told us about their microphone, camera and connection.
function renderPeer() {
  const notes = [];
  if (peerPresent) {
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
  root.dataset.peerPresent = String(peerPresent);
  root.dataset.peerConnection = peerState.connection || "";
}

function renderToggles() {
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
    local.muted = !local.muted;
    for (const track of localStream.getAudioTracks()) track.enabled = !local.muted;
  } else if (which === "camera_off") {
    local.camera = !local.camera;
    for (const track of localStream.getVideoTracks()) track.enabled = local.camera;
  } else if (which === "audio_only") {
    await setAudioOnly(!local.audio_only);
  } else if (which === "low_bandwidth") {
    local.low_bandwidth = !local.low_bandwidth;
    await applyBandwidth();
  }
  renderToggles();
  sendState();
}

// Audio only stops sending video and frees the camera (and the phone's processor).
async function setAudioOnly(on) {
  if (on) {
    for (const track of localStream.getVideoTracks()) {
      track.stop();
      localStream.removeTrack(track);
    }
    local.audio_only = true;
  } else {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: VIDEO });
      const [track] = stream.getVideoTracks();
      track.enabled = local.camera;
      localStream.addTrack(track);
      local.audio_only = false;
      notice("");
    } catch (error) {
      console.warn("camera:", error);
      notice(strings.camera_restart_failed);
      return;
    }
  }
  $("[data-local-video]").srcObject = localStream;
  if (pc) {
    await attachTracks(pc);
    await applyBandwidth();
  }
}

async function sampleStats() {
  const peer = pc;
  if (!peer || peer.connectionState !== "connected") {
    lastSample = null;
    quality = { label: "unknown", rtt: null, loss: null, kbps: null, framesDecoded: 0 };
    renderQuality();
    return;
  }
  const report = await peer.getStats();
  let pairId = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  let rtt = null;
  let lost = 0;
  let received = 0;
  let bytes = 0;
  let frames = 0;
  report.forEach((s) => {
    const selected = pairId ? s.id === pairId : s.nominated && s.state === "succeeded";
    if (s.type === "candidate-pair" && selected && s.currentRoundTripTime !== undefined) {
      rtt = s.currentRoundTripTime * 1000;
    }
    if (s.type === "inbound-rtp") {
      lost += s.packetsLost || 0;
      received += s.packetsReceived || 0;
      if (s.kind === "video") {
        bytes += s.bytesReceived || 0;
        frames += s.framesDecoded || 0;
      }
    }
  });
  const now = performance.now();
  let loss = null;
  let kbps = null;
  if (lastSample && lastSample.peer === peer) {
    const newLost = Math.max(0, lost - lastSample.lost);
    const newReceived = Math.max(0, received - lastSample.received);
    loss = newLost + newReceived > 0 ? (100 * newLost) / (newLost + newReceived) : 0;
    kbps = ((bytes - lastSample.bytes) * 8) / (now - lastSample.at);
  }
  lastSample = { peer, at: now, lost, received, bytes };
  quality = { label: qualityLabel(rtt, loss), rtt, loss, kbps, framesDecoded: frames };
  renderQuality();
}

function qualityLabel(rtt, loss) {
  if (rtt === null && loss === null) return "unknown";
  if ((rtt ?? 0) > 600 || (loss ?? 0) > 8) return "poor";
  if ((rtt ?? 0) > 300 || (loss ?? 0) > 3) return "fair";
  return "good";
}

function renderQuality() {
  const badge = $("[data-quality]");
  badge.dataset.quality = quality.label;
  setText(badge, strings.quality.replace("{label}", strings[`quality_${quality.label}`]));
  const round = (value) => (value === null ? "–" : String(Math.round(value)));
  const details =
    quality.rtt === null && quality.loss === null
      ? ""
      : strings.quality_details
          .replace("{rtt}", round(quality.rtt))
          .replace("{loss}", quality.loss === null ? "–" : quality.loss.toFixed(1))
          .replace("{kbps}", round(quality.kbps));
  setText($("[data-quality-details]"), details);
  root.dataset.framesDecoded = String(quality.framesDecoded);
}

function addChat(message) {
  if (!message.id || seenChat.has(message.id)) return;
  seenChat.add(message.id);
  const item = document.createElement("li");
  const mine = message.side === side;
  item.className = `chat-message chat-${mine ? "mine" : "theirs"}`;
  item.dataset.id = message.id;
  const who = document.createElement("span");
  who.className = "chat-who";
  who.textContent = mine ? strings.you : strings.peer_name;
  const time = document.createElement("time");
  time.dateTime = message.sent_at;
  time.textContent = new Date(message.sent_at).toLocaleTimeString(document.documentElement.lang, {
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
    timeZone: "Asia/Kolkata",
  });
  const text = document.createElement("p");
  text.textContent = message.text;
  item.append(who, " ", time, text);
  const list = $("[data-chat-list]");
  list.append(item);
  list.scrollTop = list.scrollHeight;
}

function sendChat(event) {
  event.preventDefault();
  const input = event.currentTarget.elements.text;
  const text = input.value.trim();
  if (!text) return;
  if (send({ type: "chat", text })) {
    input.value = "";
    notice("");
  } else {
    notice(strings.chat_failed);
  }
}

// --- Ending, leaving, rejoining -------------------------------------------------------------

function stopCall() {
  signalling?.stop();
  clearTimeout(disconnectedTimer);
  if (pc) pc.close();
  pc = null;
  root.dataset.connectionState = "closed";
  stopMedia();
  $("[data-remote-video]").srcObject = null;
}

function showEnded(endStatus) {
  if (finished) return;
  finished = true;
  clearInterval(statsTimer);
  stopCall();
  signalling = null;
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
  left = true;
  send({ type: "hangup" }); // the server records the leave and tells the doctor
  stopCall();
  root.dataset.socketState = "closed";
  showLeft(strings.left);
}

async function rejoin() {
  left = false;
  finished = false;
  peerState = {};
  $("[data-left-panel]").hidden = true;
  $("[data-controls]").hidden = false;
  peerPresent = false;
  status(strings.joining);
  await startMedia();
  connect();
}

// --- Start ---------------------------------------------------------------------------------

async function start() {
  for (const item of root.querySelectorAll("[data-chat-list] [data-id]")) {
    seenChat.add(item.dataset.id);
  }
  for (const button of root.querySelectorAll("[data-toggle]")) {
    button.addEventListener("click", toggle);
  }
  $("[data-hangup]").addEventListener("click", hangUp);
  $("[data-rejoin]").addEventListener("click", rejoin);
  $("[data-chat-form]").addEventListener("submit", sendChat);
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
  statsTimer = setInterval(() => {
    sampleStats().catch((error) => console.debug("stats:", error.message));
  }, STATS_MS);
}

if (root) {
  // For tests and support: the connection, and what this page knows.
  window.__call = {
    get pc() {
      return pc;
    },
    state: () => ({
      side,
      connection: pc ? pc.connectionState : "closed",
      ice: pc ? pc.iceConnectionState : "closed",
      socket: root.dataset.socketState,
      peerPresent,
      peer: { ...peerState },
      local: { ...local },
      quality: { ...quality },
      ended: root.dataset.ended || null,
    }),
  };
  start();
}

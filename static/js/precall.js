// Before a call: camera and microphone preview, and a network test against the server's echo
// peer (POST /api/precall/offer/ with an SDP offer; it answers, and echoes every message sent on
// the data channel named "echo").
//
// Measured: time to connect (createOffer to ICE "connected"), round trip (median of 20 pings on
// an unordered channel without retransmissions, and the candidate pair's currentRoundTripTime)
// and loss (pings not echoed within 2 s).

const root = document.querySelector("[data-precall]");
const strings = JSON.parse(document.getElementById("precall-strings")?.textContent || "{}");

const PINGS = 20;
const PING_INTERVAL_MS = 100;
const ECHO_TIMEOUT_MS = 2000;
const GATHER_TIMEOUT_MS = 3000;
const CONNECT_TIMEOUT_MS = 15000;

const $ = (selector) => root.querySelector(selector);
const loopbackOnly = root?.dataset.loopbackOnly === "true";

let stream = null;
let audio = null;
let meterFrame = null;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function setText(selector, text) {
  const node = $(selector);
  if (node) node.textContent = text;
}

function withTimeout(promise, ms) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms)),
  ]);
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// Loopback-only mode (tests on one machine): keep only 127.0.0.1 candidates.
function filterSdp(sdp) {
  if (!loopbackOnly) return sdp;
  return sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || line.split(" ")[4] === "127.0.0.1")
    .join("\r\n");
}

// --- Camera and microphone -------------------------------------------------------------------

async function startMedia() {
  if (stream) return;
  if (!navigator.mediaDevices?.getUserMedia) {
    setText("[data-media-status]", strings.media_failed);
    root.dataset.media = "failed";
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    setText("[data-media-status]", strings.camera_ok);
    root.dataset.media = "ok";
  } catch {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      setText("[data-media-status]", strings.camera_failed);
      root.dataset.media = "audio";
    } catch {
      setText("[data-media-status]", strings.media_failed);
      root.dataset.media = "failed";
      return;
    }
  }
  $("[data-preview]").srcObject = stream;
  showMicLevel();
}

function showMicLevel() {
  const AudioContext = window.AudioContext || window.webkitAudioContext;
  if (!AudioContext || !stream.getAudioTracks().length) return;
  audio = new AudioContext();
  const analyser = audio.createAnalyser();
  analyser.fftSize = 512;
  audio.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const meter = $("[data-mic-level]");
  const draw = () => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    meter.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
    meterFrame = requestAnimationFrame(draw);
  };
  cancelAnimationFrame(meterFrame);
  draw();
}

// --- Network -------------------------------------------------------------------------------

function gatheringDone(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, GATHER_TIMEOUT_MS); // send what we have
  });
}

function iceConnected(pc) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const state = pc.iceConnectionState;
      if (state === "connected" || state === "completed") resolve(performance.now());
      else if (state === "failed" || state === "closed") reject(new Error(`ICE ${state}`));
    };
    pc.addEventListener("iceconnectionstatechange", check);
    check();
  });
}

function channelOpen(channel) {
  if (channel.readyState === "open") return Promise.resolve();
  return new Promise((resolve, reject) => {
    channel.addEventListener("open", resolve, { once: true });
    channel.addEventListener("close", () => reject(new Error("channel closed")), { once: true });
  });
}

async function pingEcho(channel) {
  const sent = new Map();
  const rtts = [];
  channel.addEventListener("message", (event) => {
    const seq = Number(String(event.data).split(":")[1]);
    const at = sent.get(seq);
    if (at === undefined) return;
    sent.delete(seq);
    const rtt = performance.now() - at;
    if (rtt <= ECHO_TIMEOUT_MS) rtts.push(rtt);
  });
  for (let seq = 0; seq < PINGS; seq += 1) {
    sent.set(seq, performance.now());
    try {
      channel.send(`ping:${seq}`);
    } catch {
      // counted as lost
    }
    await sleep(PING_INTERVAL_MS);
  }
  await sleep(ECHO_TIMEOUT_MS);
  return rtts;
}

async function candidatePairRtt(pc) {
  const report = await pc.getStats();
  let pairId = null;
  let rtt = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  report.forEach((s) => {
    const selected = pairId ? s.id === pairId : s.nominated && s.state === "succeeded";
    if (s.type === "candidate-pair" && selected && s.currentRoundTripTime !== undefined) {
      rtt = s.currentRoundTripTime * 1000;
    }
  });
  return rtt;
}

function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function networkTest() {
  const pc = new RTCPeerConnection({ iceServers: [] });
  try {
    const channel = pc.createDataChannel("echo", { ordered: false, maxRetransmits: 0 });
    const started = performance.now();
    const connected = iceConnected(pc);
    connected.catch(() => {}); // awaited below, after the answer
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringDone(pc);
    const response = await fetch(root.dataset.offerUrl, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(),
      },
      credentials: "same-origin",
      body: JSON.stringify({ sdp: filterSdp(pc.localDescription.sdp), type: "offer" }),
    });
    if (!response.ok) throw new Error(`echo answered ${response.status}`);
    const answer = await response.json();
    await pc.setRemoteDescription({ type: answer.type, sdp: filterSdp(answer.sdp) });
    const connectMs = (await withTimeout(connected, CONNECT_TIMEOUT_MS)) - started;
    await withTimeout(channelOpen(channel), CONNECT_TIMEOUT_MS);
    const rtts = await pingEcho(channel);
    return {
      connectMs,
      rttMs: median(rtts),
      networkRttMs: await candidatePairRtt(pc),
      lossPercent: (100 * (PINGS - rtts.length)) / PINGS,
    };
  } finally {
    pc.close();
  }
}

function verdict({ connectMs, rttMs, lossPercent }) {
  if (rttMs === null || lossPercent > 10 || rttMs > 600) return "poor";
  if (lossPercent > 3 || rttMs > 300 || connectMs > 5000) return "fair";
  return "good";
}

function showResults(result) {
  const ms = (value) =>
    value === null ? strings.unknown : strings.ms.replace("{value}", Math.round(value));
  setText("[data-connect-time]", ms(result.connectMs));
  setText("[data-rtt]", ms(result.rttMs));
  setText("[data-network-rtt]", ms(result.networkRttMs));
  setText("[data-loss]", strings.percent.replace("{value}", Math.round(result.lossPercent)));
  const label = verdict(result);
  setText("[data-network-status]", `${strings.done} ${strings[label]}`);
  Object.assign(root.dataset, {
    state: "done",
    verdict: label,
    connectMs: Math.round(result.connectMs),
    rttMs: result.rttMs === null ? "" : result.rttMs.toFixed(1),
    networkRttMs: result.networkRttMs === null ? "" : result.networkRttMs.toFixed(1),
    lossPercent: result.lossPercent,
  });
}

async function runTest(event) {
  // Busy, not disabled: a disabled button would drop the keyboard focus to the page.
  const button = event.currentTarget;
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true");
  root.dataset.state = "testing";
  try {
    await startMedia();
    if (audio?.state === "suspended") await audio.resume();
    setText("[data-network-status]", strings.testing);
    showResults(await networkTest());
  } catch (error) {
    console.warn("network test:", error);
    root.dataset.state = "failed";
    setText("[data-network-status]", strings.failed);
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

if (root) {
  $("[data-start-test]").addEventListener("click", runTest);
  window.__precall = { median, verdict };
}

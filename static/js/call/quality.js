// How well the call goes: the video bitrate this side asks for (low bandwidth mode), and the
// weak-network indicator read from the connection's statistics every few seconds.

import { transceiverOf } from "./media.js";

export const STATS_MS = 2000;
export const LOW_BANDWIDTH = { maxBitrate: 150_000, scaleResolutionDownBy: 2, maxFramerate: 15 };
const UNKNOWN = { label: "unknown", rtt: null, loss: null, kbps: null, framesDecoded: 0 };

// Low bandwidth mode caps what this side's video sends; leaving it lifts the caps.
export async function applyBandwidth(peer, low) {
  const sender = peer && transceiverOf(peer, "video")?.sender;
  if (!sender) return;
  const parameters = sender.getParameters();
  if (!parameters.encodings?.length) return;
  for (const encoding of parameters.encodings) {
    if (low) Object.assign(encoding, LOW_BANDWIDTH);
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

export function qualityLabel(rtt, loss) {
  if (rtt === null && loss === null) return "unknown";
  if ((rtt ?? 0) > 600 || (loss ?? 0) > 8) return "poor";
  if ((rtt ?? 0) > 300 || (loss ?? 0) > 3) return "fair";
  return "good";
}

// The round trip of the selected candidate pair, and the counters of what was received.
function countersOf(report) {
  let pairId = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const counters = { rtt: null, lost: 0, received: 0, bytes: 0, frames: 0 };
  report.forEach((s) => {
    const selected = pairId ? s.id === pairId : s.nominated && s.state === "succeeded";
    if (s.type === "candidate-pair" && selected && s.currentRoundTripTime !== undefined) {
      counters.rtt = s.currentRoundTripTime * 1000;
    }
    if (s.type === "inbound-rtp") {
      counters.lost += s.packetsLost || 0;
      counters.received += s.packetsReceived || 0;
      if (s.kind === "video") {
        counters.bytes += s.bytesReceived || 0;
        counters.frames += s.framesDecoded || 0;
      }
    }
  });
  return counters;
}

export class QualityIndicator {
  // badge and details: where the indicator shows; root gets data-frames-decoded (for tests).
  constructor({ badge, details, root, strings }) {
    Object.assign(this, { badge, details, root, strings });
    this.lastSample = null;
    this.current = { ...UNKNOWN };
    this.timer = null;
  }

  start(currentPeer) {
    this.timer = setInterval(() => {
      this.sample(currentPeer()).catch((error) => console.debug("stats:", error.message));
    }, STATS_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  // A new connection: loss and bitrate are counted afresh.
  reset() {
    this.lastSample = null;
  }

  async sample(peer) {
    if (!peer || peer.connectionState !== "connected") {
      this.lastSample = null;
      this.current = { ...UNKNOWN };
      this.render();
      return;
    }
    const { rtt, lost, received, bytes, frames } = countersOf(await peer.getStats());
    const now = performance.now();
    const last = this.lastSample;
    let loss = null;
    let kbps = null;
    if (last && last.peer === peer) {
      const newLost = Math.max(0, lost - last.lost);
      const newReceived = Math.max(0, received - last.received);
      loss = newLost + newReceived > 0 ? (100 * newLost) / (newLost + newReceived) : 0;
      kbps = ((bytes - last.bytes) * 8) / (now - last.at);
    }
    this.lastSample = { peer, at: now, lost, received, bytes };
    this.current = { label: qualityLabel(rtt, loss), rtt, loss, kbps, framesDecoded: frames };
    this.render();
  }

  render() {
    const { strings, current } = this;
    this.badge.dataset.quality = current.label;
    setText(this.badge, strings.quality.replace("{label}", strings[`quality_${current.label}`]));
    const round = (value) => (value === null ? "–" : String(Math.round(value)));
    const details =
      current.rtt === null && current.loss === null
        ? ""
        : strings.quality_details
            .replace("{rtt}", round(current.rtt))
            .replace("{loss}", current.loss === null ? "–" : current.loss.toFixed(1))
            .replace("{kbps}", round(current.kbps));
    setText(this.details, details);
    this.root.dataset.framesDecoded = String(current.framesDecoded);
  }
}

function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

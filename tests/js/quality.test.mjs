// The call's weak-network indicator (static/js/call/quality.js) on fake statistics.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  LOW_BANDWIDTH,
  QualityIndicator,
  applyBandwidth,
  qualityLabel,
} from "../../static/js/call/quality.js";

const strings = {
  quality: "Call quality: {label}",
  quality_good: "good",
  quality_fair: "fair",
  quality_poor: "poor",
  quality_unknown: "measuring…",
  quality_details: "{rtt} ms, {loss}% lost, {kbps} kbit/s",
};

function indicator() {
  const node = () => ({ dataset: {}, textContent: "" });
  return new QualityIndicator({ badge: node(), details: node(), root: node(), strings });
}

function peerWith(stats) {
  return {
    connectionState: "connected",
    async getStats() {
      return new Map(stats().map((s) => [s.id, s]));
    },
  };
}

describe("the weak-network indicator", () => {
  it("labels round trip and loss", () => {
    assert.equal(qualityLabel(null, null), "unknown");
    assert.equal(qualityLabel(100, 0), "good");
    assert.equal(qualityLabel(350, 0), "fair");
    assert.equal(qualityLabel(100, 4), "fair");
    assert.equal(qualityLabel(700, 0), "poor");
    assert.equal(qualityLabel(null, 9), "poor");
  });

  it("reads the selected pair's round trip and the loss since the last sample", async () => {
    let lost = 0;
    let received = 100;
    const peer = peerWith(() => [
      { id: "t", type: "transport", selectedCandidatePairId: "p2" },
      { id: "p1", type: "candidate-pair", currentRoundTripTime: 0.9 },
      { id: "p2", type: "candidate-pair", currentRoundTripTime: 0.05 },
      { id: "v", type: "inbound-rtp", kind: "video", packetsLost: lost, packetsReceived: received },
    ]);
    const quality = indicator();
    await quality.sample(peer);
    assert.equal(quality.current.rtt, 50);
    assert.equal(quality.current.loss, null);
    assert.equal(quality.current.label, "good");
    lost = 10;
    received = 190;
    await quality.sample(peer);
    assert.equal(quality.current.loss, 10);
    assert.equal(quality.current.label, "poor");
    assert.equal(quality.badge.dataset.quality, "poor");
    assert.equal(quality.badge.textContent, "Call quality: poor");
  });

  it("knows nothing of a connection that is not connected", async () => {
    const quality = indicator();
    await quality.sample({ connectionState: "connecting" });
    assert.equal(quality.current.label, "unknown");
    assert.equal(quality.details.textContent, "");
    assert.equal(quality.root.dataset.framesDecoded, "0");
  });
});

describe("low bandwidth", () => {
  function peerSending(encodings) {
    const sender = {
      parameters: { encodings },
      getParameters() {
        return structuredClone(this.parameters);
      },
      async setParameters(parameters) {
        this.parameters = parameters;
      },
    };
    const transceiver = { stopped: false, receiver: { track: { kind: "video" } }, sender };
    return { sender, peer: { getTransceivers: () => [transceiver] } };
  }

  it("caps the video this side sends, and lifts the caps again", async () => {
    const { sender, peer } = peerSending([{ active: true }]);
    await applyBandwidth(peer, true);
    assert.deepEqual(sender.parameters.encodings, [{ active: true, ...LOW_BANDWIDTH }]);
    await applyBandwidth(peer, false);
    assert.deepEqual(sender.parameters.encodings, [{ active: true, scaleResolutionDownBy: 1 }]);
  });
});

// The call's perfect negotiation (static/js/call/negotiation.js), driven by fake peer
// connections that keep the signalling states of RTCPeerConnection: no browser, no network.
// Run with `make jstest`.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  Negotiation,
  allowedCandidate,
  filterSdp,
  sessionOf,
} from "../../static/js/call/negotiation.js";

let sessions = 1000;

// An RTCPeerConnection as far as negotiation sees it: signalling states with implicit rollback,
// descriptions with a session id per connection, ICE restarts and candidates.
class FakePeer extends EventTarget {
  constructor(configuration) {
    super();
    this.configuration = configuration;
    this.session = String(sessions++);
    this.version = 0;
    this.signalingState = "stable";
    this.connectionState = "new";
    this.iceConnectionState = "new";
    this.localDescription = null;
    this.remoteDescription = null;
    this.currentRemoteDescription = null;
    this.rollbacks = 0;
    this.restarts = 0;
    this.candidates = [];
    this.closed = false;
  }

  sdp() {
    this.version += 1;
    return [
      "v=0",
      `o=- ${this.session} ${this.version} IN IP4 127.0.0.1`,
      "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
      "a=candidate:2 1 udp 2122194687 192.168.1.20 50001 typ host",
      "",
    ].join("\r\n");
  }

  async setLocalDescription() {
    await Promise.resolve();
    if (this.closed) throw new Error("InvalidStateError: closed");
    if (this.signalingState === "have-remote-offer") {
      this.localDescription = { type: "answer", sdp: this.sdp() };
      this.currentRemoteDescription = this.remoteDescription;
      this.signalingState = "stable";
    } else {
      this.localDescription = { type: "offer", sdp: this.sdp() };
      this.signalingState = "have-local-offer";
    }
  }

  async setRemoteDescription(description) {
    await Promise.resolve();
    if (this.closed) throw new Error("InvalidStateError: closed");
    if (description.type === "offer") {
      if (this.signalingState === "have-local-offer") {
        this.rollbacks += 1; // the implicit rollback of the polite side
        this.localDescription = null;
      }
      this.remoteDescription = description;
      this.signalingState = "have-remote-offer";
    } else {
      if (this.signalingState !== "have-local-offer") {
        throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
      }
      this.remoteDescription = description;
      this.currentRemoteDescription = description;
      this.signalingState = "stable";
    }
  }

  async addIceCandidate(candidate) {
    if (!this.remoteDescription) throw new Error("InvalidStateError: no remote description");
    this.candidates.push(candidate);
  }

  restartIce() {
    this.restarts += 1;
  }

  getConfiguration() {
    return this.configuration;
  }

  setConfiguration(configuration) {
    this.configuration = configuration;
  }

  close() {
    this.closed = true;
    this.signalingState = "closed";
  }

  // What a browser does when the network changes.
  become(connectionState, iceConnectionState = connectionState) {
    this.connectionState = connectionState;
    this.iceConnectionState = iceConnectionState;
    this.dispatchEvent(new Event("iceconnectionstatechange"));
    this.dispatchEvent(new Event("connectionstatechange"));
  }
}

// Timers the test moves by hand.
function fakeTimers() {
  const pending = new Map();
  let next = 1;
  return {
    setTimeout(fn, ms) {
      pending.set(next, { fn, ms });
      return next++;
    },
    clearTimeout(id) {
      pending.delete(id);
    },
    runAll() {
      const due = [...pending.values()];
      pending.clear();
      for (const { fn } of due) fn();
    },
    get pending() {
      return [...pending.values()];
    },
  };
}

const quietLog = { warn() {}, debug() {} };

// One side of a call: its negotiation, the fake connections it made and the frames it sent.
function side(polite, options = {}) {
  const peers = [];
  const sent = [];
  const timers = fakeTimers();
  const negotiation = new Negotiation({
    polite,
    newPeer: (configuration) => {
      const peer = new FakePeer(configuration);
      peers.push(peer);
      return peer;
    },
    send: (message) => sent.push(message),
    timers,
    log: quietLog,
    ...options,
  });
  return { negotiation, peers, sent, timers };
}

// Both pages in one room: frames go across as the socket would, a turn of the event loop later.
function room({ doctorOptions = {}, patientOptions = {} } = {}) {
  const doctor = side(false, doctorOptions);
  const patient = side(true, patientOptions);
  for (const [from, to] of [
    [doctor, patient],
    [patient, doctor],
  ]) {
    from.negotiation.send = (message) => {
      from.sent.push(message);
      setImmediate(() => to.negotiation.receive(message));
    };
  }
  return { doctor, patient };
}

async function settle() {
  for (let turn = 0; turn < 30; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

function types(sent) {
  return sent.filter((m) => m.type !== "candidate").map((m) => m.type);
}

// Only this side from now on: what it sends no longer reaches the other.
function alone(one) {
  one.negotiation.send = (message) => one.sent.push(message);
  return one;
}

async function connected() {
  const call = room();
  call.patient.negotiation.room({ peer: false });
  await settle();
  call.doctor.negotiation.room({ peer: true, peerJoin: "j1" });
  await settle();
  return call;
}

describe("meeting", () => {
  it("the doctor offers when the patient is there, and the patient answers", async () => {
    const { doctor, patient } = await connected();
    assert.deepEqual(types(doctor.sent), ["offer"]);
    assert.deepEqual(types(patient.sent), ["answer"]);
    assert.equal(doctor.negotiation.pc.signalingState, "stable");
    assert.equal(patient.negotiation.pc.signalingState, "stable");
  });

  it("the polite patient never opens the negotiation", async () => {
    const { patient } = room();
    patient.negotiation.room({ peer: true, peerJoin: "j1" });
    await settle();
    assert.deepEqual(patient.sent, []);
    assert.equal(patient.peers.length, 1);
  });

  it("a joining announced twice (room, then peer joined) starts one offer", async () => {
    const call = side(false);
    call.negotiation.room({ peer: true, peerJoin: "j7" });
    assert.equal(call.negotiation.peerJoined("j7"), false);
    await settle();
    assert.deepEqual(types(call.sent), ["offer"]);
  });

  it("a new joining of the other side is acted on", async () => {
    const call = side(false);
    call.negotiation.room({ peer: false });
    await settle();
    assert.equal(call.negotiation.peerJoined("j8"), true);
    await settle();
    assert.deepEqual(types(call.sent), ["offer"]);
    assert.equal(call.negotiation.peerPresent, true);
  });

  it("nothing queued runs once the call is over", async () => {
    let active = true;
    const call = side(false, { isActive: () => active });
    active = false;
    call.negotiation.room({ peer: true, peerJoin: "j1" });
    await settle();
    assert.equal(call.peers.length, 0);
    assert.deepEqual(call.sent, []);
  });
});

describe("glare", () => {
  it("when both sides offer at once, the polite side rolls back and answers", async () => {
    const { doctor, patient } = await connected();
    doctor.sent.length = 0;
    patient.sent.length = 0;
    doctor.negotiation.makeOffer();
    patient.negotiation.makeOffer();
    await settle();
    const doctorPeer = doctor.negotiation.pc;
    const patientPeer = patient.negotiation.pc;
    assert.equal(patientPeer.rollbacks, 1);
    assert.equal(doctorPeer.rollbacks, 0);
    assert.equal(doctorPeer.remoteDescription.type, "answer"); // the patient's offer was ignored
    assert.deepEqual(types(patient.sent), ["offer", "answer"]);
    assert.deepEqual(types(doctor.sent), ["offer"]);
    assert.equal(doctorPeer.signalingState, "stable");
    assert.equal(patientPeer.signalingState, "stable");
    assert.equal(doctor.peers.length, 1); // the same connections throughout
    assert.equal(patient.peers.length, 1);
  });

  it("candidates of an ignored offer are dropped quietly", async () => {
    const logged = [];
    const call = side(false, { log: { warn() {}, debug: (...args) => logged.push(args) } });
    call.negotiation.room({ peer: true, peerJoin: "j1" });
    await settle();
    call.negotiation.receive({ type: "offer", sdp: "v=0\r\no=- 77 1 IN IP4 127.0.0.1\r\n" });
    call.negotiation.receive({
      type: "candidate",
      candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0" },
    });
    await settle();
    assert.equal(call.negotiation.ignoreOffer, true);
    assert.equal(call.negotiation.pc.signalingState, "have-local-offer");
    assert.deepEqual(logged, []);
  });
});

describe("late and stray descriptions", () => {
  it("an answer that comes when no offer is outstanding is ignored", async () => {
    const { doctor } = await connected();
    const peer = doctor.negotiation.pc;
    const before = peer.remoteDescription;
    doctor.negotiation.receive({
      type: "answer",
      sdp: before.sdp.replace(/ (\d+) IN/, " 99 IN"),
    });
    await settle();
    assert.equal(doctor.negotiation.pc, peer);
    assert.equal(peer.remoteDescription, before);
    assert.equal(peer.signalingState, "stable");
  });

  it("a description from a reloaded page starts a fresh connection and a new offer", async () => {
    const doctor = alone((await connected()).doctor);
    const old = doctor.negotiation.pc;
    doctor.sent.length = 0;
    doctor.negotiation.receive({ type: "answer", sdp: "v=0\r\no=- 4242 1 IN IP4 127.0.0.1\r\n" });
    await settle();
    assert.notEqual(doctor.negotiation.pc, old);
    assert.equal(old.closed, true);
    assert.deepEqual(types(doctor.sent), ["offer"]);
  });

  it("an offer from a reloaded page is answered on a fresh connection", async () => {
    const patient = alone((await connected()).patient);
    const old = patient.negotiation.pc;
    patient.sent.length = 0;
    patient.negotiation.receive({ type: "offer", sdp: "v=0\r\no=- 4343 1 IN IP4 127.0.0.1\r\n" });
    await settle();
    assert.notEqual(patient.negotiation.pc, old);
    assert.equal(sessionOf(patient.negotiation.pc.remoteDescription.sdp), "4343");
    assert.deepEqual(types(patient.sent), ["answer"]);
  });
});

describe("ICE restarts", () => {
  it("a failed ICE connection is restarted at once, on either side", async () => {
    const { doctor, patient } = await connected();
    patient.negotiation.pc.become("failed");
    doctor.negotiation.pc.become("failed");
    assert.equal(patient.negotiation.pc.restarts, 1);
    assert.equal(doctor.negotiation.pc.restarts, 1);
  });

  it("the doctor restarts a connection that stays disconnected; reconnecting cancels it", async () => {
    const { doctor, patient } = await connected();
    const peer = doctor.negotiation.pc;
    peer.become("disconnected");
    assert.equal(doctor.timers.pending.length, 1);
    assert.equal(doctor.timers.pending[0].ms, 4000);
    doctor.timers.runAll();
    assert.equal(peer.restarts, 1);

    peer.become("disconnected");
    peer.become("connected");
    assert.equal(doctor.timers.pending.length, 0);

    patient.negotiation.pc.become("disconnected");
    assert.equal(patient.timers.pending.length, 0); // the polite side waits for the doctor
  });

  it("the other side's socket coming back restarts ICE on the connection that works", async () => {
    const { doctor } = await connected();
    const peer = doctor.negotiation.pc;
    peer.connectionState = "connected";
    doctor.sent.length = 0;
    assert.equal(doctor.negotiation.peerJoined("j2"), true);
    await settle();
    assert.equal(doctor.negotiation.pc, peer);
    assert.equal(peer.restarts, 1);
    assert.deepEqual(types(doctor.sent), ["offer"]);
  });

  it("the other side coming back to a dead connection gets a fresh one", async () => {
    const { doctor } = await connected();
    const peer = doctor.negotiation.pc;
    peer.connectionState = "failed";
    doctor.negotiation.peerJoined("j3");
    await settle();
    assert.notEqual(doctor.negotiation.pc, peer);
    assert.equal(peer.closed, true);
  });

  it("events of a replaced connection are not acted on", async () => {
    const seen = [];
    const { doctor } = room({ doctorOptions: { onConnectionState: (s) => seen.push(s) } });
    doctor.negotiation.room({ peer: false });
    await settle();
    const old = doctor.negotiation.pc;
    await doctor.negotiation.freshPeer();
    old.become("failed");
    assert.equal(old.restarts, 0);
    assert.deepEqual(seen, []);
    assert.equal(doctor.timers.pending.length, 0);
  });
});

describe("loopback only", () => {
  const local = "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host";
  const lan = "candidate:2 1 udp 2122194687 192.168.1.20 50001 typ host";

  it("keeps only 127.0.0.1 candidates, trickled or in the SDP", () => {
    assert.equal(allowedCandidate(local, true), true);
    assert.equal(allowedCandidate(lan, true), false);
    assert.equal(allowedCandidate(lan, false), true);
    const sdp = `v=0\r\na=${local}\r\na=${lan}\r\n`;
    assert.equal(filterSdp(sdp, true), `v=0\r\na=${local}\r\n`);
    assert.equal(filterSdp(sdp, false), sdp);
  });

  it("sends descriptions and candidates without the others", async () => {
    const call = side(false, { loopbackOnly: true });
    call.negotiation.room({ peer: true, peerJoin: "j1" });
    await settle();
    const peer = call.negotiation.pc;
    assert.ok(!call.sent[0].sdp.includes("192.168.1.20"));
    for (const candidate of [{ candidate: lan }, { candidate: local, sdpMid: "0" }, null]) {
      peer.dispatchEvent(Object.assign(new Event("icecandidate"), { candidate }));
    }
    const trickled = call.sent.filter((m) => m.type === "candidate").map((m) => m.candidate);
    assert.deepEqual(trickled, [{ candidate: local, sdpMid: "0", sdpMLineIndex: undefined }, null]);
  });
});

// The call's one RTCPeerConnection, negotiated with the "perfect negotiation" pattern over the
// signalling socket (docs/signalling.md). No DOM and no globals: the page passes in how to make
// a peer connection, how to send a frame and what to do when things change, so node's test
// runner drives this module with fake connections (tests/js/negotiation.test.mjs).
//
// The patient is the polite peer. The doctor offers whenever the other side (re)joins, so
// whichever page arrives or reloads second, media flows again. A page that reloaded is a new
// RTCPeerConnection (new DTLS certificate and SDP session), which a renegotiation of the old
// connection cannot reach: when a description arrives from a session other than the one we
// were talking to, we start over with a fresh connection.

export const DISCONNECTED_RESTART_MS = 4000;

// In loopback-only mode (tests on one machine) every ICE candidate not on 127.0.0.1 is dropped,
// local or remote, trickled or inside an SDP.
export function allowedCandidate(text, loopbackOnly) {
  if (!loopbackOnly || !text) return true;
  const fields = text.replace(/^a=/, "").split(" ");
  return fields[4] === "127.0.0.1";
}

export function filterSdp(sdp, loopbackOnly) {
  if (!loopbackOnly) return sdp;
  return sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || allowedCandidate(line, loopbackOnly))
    .join("\r\n");
}

// The SDP session of a description: a new one means the other page is a new connection.
export function sessionOf(sdp) {
  const match = /^o=\S+ (\d+) /m.exec(sdp || "");
  return match ? match[1] : null;
}

const nothing = () => {};

export class Negotiation {
  // polite: this side gives way when both offer at once (the patient); the other (the doctor)
  //   offers when the two sides meet and restarts ICE on a connection that stays down.
  // newPeer(configuration): a new RTCPeerConnection.
  // send(message): one signalling frame to the other side.
  // attachTracks(peer): make the connection send what this side has (the media module).
  // isActive(): false once the call ended or this side left: queued signals are dropped.
  // onPeer(peer), onTrack(track), onIceState(state), onConnectionState(state): for the page,
  //   and only ever about the current connection; onRoomReady(): the room is joined and a
  //   connection exists.
  constructor({
    polite,
    newPeer,
    send,
    attachTracks = async () => {},
    isActive = () => true,
    loopbackOnly = false,
    restartDelayMs = DISCONNECTED_RESTART_MS,
    timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (id) => clearTimeout(id) },
    log = console,
    onPeer = nothing,
    onTrack = nothing,
    onIceState = nothing,
    onConnectionState = nothing,
    onRoomReady = nothing,
  }) {
    Object.assign(this, { polite, newPeer, send, attachTracks, isActive, loopbackOnly });
    Object.assign(this, { restartDelayMs, timers, log });
    Object.assign(this, { onPeer, onTrack, onIceState, onConnectionState, onRoomReady });
    this.pc = null;
    this.iceServers = [];
    this.peerPresent = false;
    // The other side's joining we have already acted on: when both sides join at once, its
    // joining arrives twice (in `room` and as `peer joined`) and must start only one offer.
    this.knownPeerJoin = null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.chain = Promise.resolve();
    this.disconnectedTimer = null;
  }

  get connectionState() {
    return this.pc ? this.pc.connectionState : "new";
  }

  // --- The room: who is there ---------------------------------------------------------------

  // The server's `room` frame, as the page decoded it.
  room({ iceServers = [], peer = false, peerJoin = null }) {
    this.iceServers = iceServers;
    this.peerPresent = Boolean(peer);
    this.knownPeerJoin = peerJoin || null;
    return this.queue(async () => {
      if (!this.pc) await this.freshPeer();
      else {
        try {
          this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: this.iceServers });
        } catch (error) {
          this.log.debug("setConfiguration:", error.message);
        }
      }
      this.onRoomReady();
      if (this.peerPresent) await this.peerArrived();
    });
  }

  // The other side joined; false when that joining was already acted on.
  peerJoined(join) {
    if (join && join === this.knownPeerJoin) return false;
    this.knownPeerJoin = join || null;
    this.peerPresent = true;
    this.queue(() => this.peerArrived());
    return true;
  }

  peerLeft() {
    this.peerPresent = false;
  }

  // An offer, answer or candidate from the other side.
  receive(message) {
    if (message.type === "offer" || message.type === "answer") {
      return this.queue(() => this.onDescription(message));
    }
    if (message.type === "candidate") return this.queue(() => this.onCandidate(message));
    return this.chain;
  }

  // Descriptions and candidates are applied one after another, in the order they came.
  queue(step) {
    this.chain = this.chain
      .then(() => (this.isActive() ? step() : undefined))
      .catch((error) => this.log.warn("signalling:", error));
    return this.chain;
  }

  close() {
    this.timers.clearTimeout(this.disconnectedTimer);
    if (this.pc) this.pc.close();
    this.pc = null;
  }

  // --- The connection -----------------------------------------------------------------------

  createPeer() {
    const peer = this.newPeer({ iceServers: this.iceServers });
    this.pc = peer;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.onPeer(peer);

    peer.addEventListener("track", ({ track }) => {
      if (peer === this.pc) this.onTrack(track);
    });
    peer.addEventListener("icecandidate", ({ candidate }) => {
      if (peer !== this.pc) return;
      if (!candidate) {
        this.send({ type: "candidate", candidate: null });
      } else if (allowedCandidate(candidate.candidate, this.loopbackOnly)) {
        const { sdpMid, sdpMLineIndex } = candidate;
        this.send({
          type: "candidate",
          candidate: { candidate: candidate.candidate, sdpMid, sdpMLineIndex },
        });
      }
    });
    peer.addEventListener("negotiationneeded", () => {
      // The patient offers only to change a working call (the doctor offers when they meet).
      if (peer !== this.pc || this.makingOffer || peer.signalingState !== "stable") return;
      if (!this.peerPresent || (this.polite && !peer.currentRemoteDescription)) return;
      this.makeOffer();
    });
    peer.addEventListener("iceconnectionstatechange", () => {
      if (peer !== this.pc) return;
      this.onIceState(peer.iceConnectionState);
      if (peer.iceConnectionState === "failed") peer.restartIce();
    });
    peer.addEventListener("connectionstatechange", () => {
      if (peer === this.pc) this.connectionChanged(peer);
    });
    return peer;
  }

  connectionChanged(peer) {
    const state = peer.connectionState;
    this.onConnectionState(state);
    this.timers.clearTimeout(this.disconnectedTimer);
    // A network change often leaves ICE "disconnected" for long: the doctor restarts it soon.
    if (!this.polite && (state === "disconnected" || state === "failed")) {
      this.disconnectedTimer = this.timers.setTimeout(() => {
        if (peer === this.pc && peer.connectionState !== "connected") peer.restartIce();
      }, this.restartDelayMs);
    }
  }

  async freshPeer() {
    if (this.pc) this.pc.close();
    this.createPeer();
    await this.attachTracks(this.pc);
  }

  async makeOffer() {
    const peer = this.pc;
    try {
      this.makingOffer = true;
      await peer.setLocalDescription();
      if (peer === this.pc) this.sendDescription(peer.localDescription);
    } catch (error) {
      this.log.warn("offer:", error);
    } finally {
      this.makingOffer = false;
    }
  }

  sendDescription({ type, sdp }) {
    this.send({ type, sdp: filterSdp(sdp, this.loopbackOnly) });
  }

  // The doctor's move whenever the two sides meet: a new offer. While media flows (the other
  // side's socket only reconnected) the same connection restarts ICE; otherwise start afresh.
  async peerArrived() {
    if (this.polite || !this.pc || !this.isActive()) return;
    if (this.pc.remoteDescription) {
      if (this.pc.connectionState === "connected") this.pc.restartIce();
      else await this.freshPeer();
    }
    await this.makeOffer();
  }

  async onDescription(message) {
    if (!this.pc) return;
    const description = { type: message.type, sdp: filterSdp(message.sdp, this.loopbackOnly) };
    const known = this.pc.remoteDescription;
    if (known && sessionOf(known.sdp) !== sessionOf(description.sdp)) {
      // The other page is new (it reloaded): our connection belongs to its predecessor.
      await this.freshPeer();
      if (description.type === "answer") {
        await this.makeOffer();
        return;
      }
    }
    const readyForOffer =
      !this.makingOffer && (this.pc.signalingState === "stable" || this.settingRemoteAnswer);
    const collision = description.type === "offer" && !readyForOffer;
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    if (description.type === "answer" && this.pc.signalingState !== "have-local-offer") return;
    this.settingRemoteAnswer = description.type === "answer";
    await this.pc.setRemoteDescription(description);
    this.settingRemoteAnswer = false;
    if (description.type === "offer") {
      await this.attachTracks(this.pc);
      await this.pc.setLocalDescription();
      this.sendDescription(this.pc.localDescription);
    }
  }

  async onCandidate(message) {
    const candidate = message.candidate;
    if (!this.pc || !candidate || !candidate.candidate) return;
    if (!allowedCandidate(candidate.candidate, this.loopbackOnly)) return;
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      // A candidate for an offer we ignored, or for a connection we replaced.
      if (!this.ignoreOffer) this.log.debug("candidate:", error.message);
    }
  }
}

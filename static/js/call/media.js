// This side's camera and microphone: getUserMedia with a fall-back to audio, mute, camera off,
// audio only, and which tracks a peer connection sends.

export const VIDEO = {
  width: { ideal: 640 },
  height: { ideal: 480 },
  frameRate: { ideal: 15, max: 24 },
};
export const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

// The live transceiver of a peer connection for one kind of track.
export function transceiverOf(peer, kind) {
  return peer
    .getTransceivers()
    .find((t) => !t.stopped && t.currentDirection !== "stopped" && t.receiver.track.kind === kind);
}

export class Media {
  // video: the <video> showing this side; notice(text): a message to the person (empty hides
  // it); offerer: this side asks for both kinds of media even without a camera (the doctor).
  constructor({ video, notice, strings, offerer }) {
    Object.assign(this, { video, notice, strings, offerer });
    this.stream = new MediaStream();
    // What this side tells the other (protocol field names).
    this.local = { muted: false, camera: true, audio_only: false, low_bandwidth: false };
  }

  // False when the browser has no getUserMedia at all.
  async start() {
    this.stream = new MediaStream();
    const devices = navigator.mediaDevices;
    if (!devices?.getUserMedia) {
      this.none();
      return false;
    }
    try {
      this.stream = await devices.getUserMedia({
        video: this.local.audio_only ? false : VIDEO,
        audio: AUDIO,
      });
    } catch (error) {
      console.warn("camera and microphone:", error);
      try {
        this.stream = await devices.getUserMedia({ audio: AUDIO });
        this.local.audio_only = true;
        this.notice(this.strings.camera_failed);
      } catch (audioError) {
        console.warn("microphone:", audioError);
        this.none();
      }
    }
    this.enableTracks();
    this.video.srcObject = this.stream;
    return true;
  }

  none() {
    this.local.audio_only = true;
    this.local.muted = true;
    this.notice(this.strings.media_failed);
  }

  stop() {
    for (const track of this.stream.getTracks()) track.stop();
    this.stream = new MediaStream();
    this.video.srcObject = null;
  }

  enableTracks() {
    for (const track of this.stream.getAudioTracks()) track.enabled = !this.local.muted;
    for (const track of this.stream.getVideoTracks()) track.enabled = this.local.camera;
  }

  toggleMuted() {
    this.local.muted = !this.local.muted;
    for (const track of this.stream.getAudioTracks()) track.enabled = !this.local.muted;
  }

  toggleCamera() {
    this.local.camera = !this.local.camera;
    for (const track of this.stream.getVideoTracks()) track.enabled = this.local.camera;
  }

  // Audio only stops sending video and frees the camera (and the phone's processor). False
  // when the camera could not be had back.
  async setAudioOnly(on) {
    if (on) {
      for (const track of this.stream.getVideoTracks()) {
        track.stop();
        this.stream.removeTrack(track);
      }
      this.local.audio_only = true;
    } else {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ video: VIDEO });
        const [track] = stream.getVideoTracks();
        track.enabled = this.local.camera;
        this.stream.addTrack(track);
        this.local.audio_only = false;
        this.notice("");
      } catch (error) {
        console.warn("camera:", error);
        this.notice(this.strings.camera_restart_failed);
        return false;
      }
    }
    this.video.srcObject = this.stream;
    return true;
  }

  // Make the connection send what we have: replace the track of an existing transceiver (no
  // renegotiation), or add one. The offerer always asks for both kinds.
  async attachTracks(peer) {
    for (const kind of ["audio", "video"]) {
      const track = this.stream.getTracks().find((t) => t.kind === kind) || null;
      const transceiver = transceiverOf(peer, kind);
      if (transceiver) {
        if (track && !transceiver.direction.includes("send")) transceiver.direction = "sendrecv";
        if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
      } else if (track) {
        peer.addTrack(track, this.stream);
      } else if (this.offerer) {
        peer.addTransceiver(kind, { direction: "recvonly" });
      }
    }
  }
}

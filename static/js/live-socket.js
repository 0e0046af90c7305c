// A JSON WebSocket that stays connected, shared by the waiting room, the console and calls.
//
// - Heartbeat: a ping every `pingMs`; no pong within `pongTimeoutMs` means the connection is
//   gone (some browsers never report a dropped socket), so it is closed and reopened.
// - Reconnection with exponential back-off and jitter after network drops and restarts.
// - No reconnection after a documented refusal: close code 4000 (replaced by a newer socket of
//   the same page) or 4400-4499 (see docs/waiting-room.md and docs/signalling.md).

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export function isRefusal(code) {
  return code === 4000 || (code >= 4400 && code < 4500);
}

export class LiveSocket {
  constructor(path, options = {}) {
    this.path = path;
    this.pingMs = options.pingMs ?? 20000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10000;
    this.maxDelayMs = options.maxDelayMs ?? 15000;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.query = options.query ?? (() => "");
    this.onOpen = options.onOpen ?? (() => {});
    this.onMessage = options.onMessage ?? (() => {});
    this.onRefused = options.onRefused ?? (() => {});
    this.onRetry = options.onRetry ?? (() => {});
    this.socket = null;
    this.failures = 0;
    this.stopped = false;
    this.pingTimer = null;
    this.pongTimer = null;
    this.retryTimer = null;
  }

  get isOpen() {
    return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  send(message) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  stop(code = 1000) {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(code);
  }

  // Close now and reconnect (e.g. when the page knows the connection is stale).
  reconnect() {
    const socket = this.socket;
    this.socket = null;
    this.stopHeartbeat();
    try {
      socket?.close();
    } catch {
      // already closed
    }
    this.retry();
  }

  connect() {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${this.path}${this.query()}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.failures = 0;
      this.startHeartbeat(socket);
      this.onOpen();
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this.socket) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "pong") {
        clearTimeout(this.pongTimer);
        this.pongTimer = null;
      }
      this.onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.stopHeartbeat();
      if (this.stopped) return;
      if (isRefusal(event.code)) {
        this.stopped = true;
        this.onRefused(event.code);
        return;
      }
      this.retry();
    });
  }

  retry() {
    if (this.stopped) return;
    this.failures += 1;
    this.onRetry(this.failures);
    const exponent = Math.min(this.failures, 5);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** exponent);
    this.retryTimer = setTimeout(() => this.connect(), delay + Math.random() * 500);
  }

  startHeartbeat(socket) {
    this.stopHeartbeat();
    this.pingTimer = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.send('{"type":"ping"}');
      if (!this.pongTimer) this.pongTimer = setTimeout(() => this.reconnect(), this.pongTimeoutMs);
    }, this.pingMs);
  }

  stopHeartbeat() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }
}

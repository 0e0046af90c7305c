// Saving the draft as the doctor types: ~800 ms after the last change, and when a field loses
// focus, the whole draft is PUT to /api/consultations/<ticket>/draft/. Until the server has
// it, the draft is also kept in sessionStorage: a reload (or a dropped connection) loses
// nothing, and the restored edits are sent again.

import { csrfToken } from "../live-socket.js";

const DEBOUNCE_MS = 800;
const RETRY_MS = 5000;

export function format(text, values) {
  return String(text || "").replace(/\{(\w+)\}/g, (match, key) =>
    key in values ? String(values[key]) : match,
  );
}

export function clockTime(date) {
  return date.toLocaleTimeString(document.documentElement.lang || "en", {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone: "Asia/Kolkata",
  });
}

// One JSON request; `data` is the parsed body (the error envelope when not ok). Throws only
// when the network fails.
export async function api(url, { method = "GET", body, keepalive = false } = {}) {
  const headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    keepalive,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { ok: response.ok, status: response.status, data };
}

export class DraftSaving {
  // panel: the prescription panel (its data- attributes say the draft's state, id and URLs);
  // content: the form's PrescriptionFields; errors: its FormErrors; statusLine: "Saved at…".
  constructor({ panel, content, errors, statusLine, strings }) {
    Object.assign(this, { panel, content, errors, statusLine, strings });
    this.storageKey = `prescription-draft:${panel.dataset.ticket}`;
    this.edits = 0; // changes made on this page
    this.savedEdits = 0; // how many of them the server has
    this.saved = true; // the last save succeeded (the page shows what the server has)
    this.saving = null;
    this.timer = null;
    this.lastError = null;
    this.savedRows = content.collect().rows; // the rows of the last saved draft, server's order
  }

  get id() {
    return this.panel.dataset.prescriptionId;
  }

  get state() {
    return this.panel.dataset.state;
  }

  get unsaved() {
    return this.edits !== this.savedEdits;
  }

  changed() {
    if (this.state !== "draft") return;
    this.edits += 1;
    this.remember();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(), DEBOUNCE_MS);
  }

  remember() {
    try {
      sessionStorage.setItem(
        this.storageKey,
        JSON.stringify({ id: this.id, payload: this.content.collect().payload }),
      );
    } catch {
      // private mode or full: the server copy is all there is
    }
  }

  forget() {
    try {
      sessionStorage.removeItem(this.storageKey);
    } catch {
      // nothing kept
    }
  }

  // After a reload: edits the server never got come back, and are sent again.
  restore() {
    let kept = null;
    try {
      kept = JSON.parse(sessionStorage.getItem(this.storageKey) || "null");
    } catch {
      kept = null;
    }
    if (!kept) return;
    const current = JSON.stringify(this.content.collect().payload);
    if (kept.id !== this.id || this.state !== "draft" || JSON.stringify(kept.payload) === current) {
      this.forget();
      return;
    }
    this.content.fill(kept.payload);
    this.edits += 1;
    this.setStatus(this.strings.restored, "restored");
    this.save();
  }

  // Leaving with unsaved edits: one last save that outlives the page.
  saveOnLeaving() {
    if (this.state === "draft" && this.unsaved) {
      api(this.panel.dataset.draftUrl, {
        method: "PUT",
        body: this.content.collect().payload,
        keepalive: true,
      }).catch(() => {});
    }
  }

  // Resolves to true once everything on screen is saved.
  async save() {
    clearTimeout(this.timer);
    while (this.saving) await this.saving;
    if (this.state !== "draft") return false;
    if (this.edits === this.savedEdits && this.saved) return true;
    const attempt = this.put();
    this.saving = attempt;
    try {
      return await attempt;
    } finally {
      if (this.saving === attempt) this.saving = null;
    }
  }

  async put() {
    const { strings } = this;
    const edits = this.edits;
    const { payload, rows } = this.content.collect();
    this.setStatus(strings.saving, "saving");
    let response;
    try {
      response = await api(this.panel.dataset.draftUrl, { method: "PUT", body: payload });
    } catch {
      return this.failed(strings.offline, null, rows, { retry: true });
    }
    if (response.ok) {
      this.saved = true;
      this.savedEdits = edits;
      this.savedRows = rows;
      this.lastError = null;
      if (this.edits === edits) this.forget();
      this.errors.show({}, rows);
      this.errors.hideSummary();
      this.showSaved();
      return true;
    }
    const error = response.data?.error || {};
    if (response.status === 401 || response.status === 403) {
      return this.failed(strings.signed_out, error, rows);
    }
    this.errors.show(error.fields || {}, rows);
    const why = this.errors.describe(error.fields || {}, rows) || error.message || strings.failed;
    return this.failed(format(strings.not_saved, { errors: why }), error, rows, {
      retry: response.status >= 500,
    });
  }

  failed(status, error, rows, { retry = false } = {}) {
    this.saved = false;
    this.lastError = { error: error || {}, rows };
    this.setStatus(status, "error");
    if (retry) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.save(), RETRY_MS);
    }
    return false;
  }

  // The form now shows a draft the server has (a correction starts one): nothing unsaved.
  startedAfresh() {
    this.savedEdits = this.edits;
    this.saved = true;
    this.savedRows = this.content.collect().rows;
    this.showSaved();
  }

  showSaved() {
    this.setStatus(format(this.strings.saved, { time: clockTime(new Date()) }), "saved");
  }

  setStatus(message, state) {
    if (this.statusLine.textContent !== message) this.statusLine.textContent = message;
    this.panel.dataset.saveState = state;
  }
}

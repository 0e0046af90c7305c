// The doctor's prescription form (templates/consultations/prescription_form.html), on its own
// page and beside the video.
//
// - Autosave: ~800 ms after the doctor stops typing, and when a field loses focus, the whole
//   draft is PUT to /api/consultations/<ticket>/draft/. Field names are the API's own
//   ("medicines.0.dose"), so the error envelope's `fields` point straight at the inputs.
// - Until the server has it, the draft is also kept in sessionStorage: a reload (or a dropped
//   connection) loses nothing, and the restored edits are sent again.
// - "Sign and send" asks first, saves what is on screen, then finalises; a 400 `incomplete`
//   names each missing part. A signed prescription can be corrected: the form becomes the draft
//   of the next version.
// - On the call page the consultation only exists once the patient has joined: until then the
//   panel waits and loads the form from the page when it does. A page parsed by DOMParser has
//   scripting off, so its <noscript> rows are real inputs: they are dropped before the panel is
//   adopted (they would be numbered, and submitted, as medicines).
// - There is always a medicine row to write in; vitals and the rest sit in a <details> that
//   opens when an error points into it.

import { csrfToken } from "./live-socket.js";

const DEBOUNCE_MS = 800;
const RETRY_MS = 5000;
const PENDING_POLL_MS = 3000;
const PENDING_POLL_MAX_MS = 15000;
const NIL_ID = "00000000-0000-0000-0000-000000000000";
const MEDICINE_TEXT = ["name", "strength", "dose", "duration_days", "instructions"];

const strings = JSON.parse(document.getElementById("prescription-strings")?.textContent || "{}");
const lang = document.documentElement.lang || "en";

function format(text, values) {
  return String(text || "").replace(/\{(\w+)\}/g, (match, key) =>
    key in values ? String(values[key]) : match,
  );
}

function clockTime(date) {
  return date.toLocaleTimeString(lang, {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone: "Asia/Kolkata",
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function text(node) {
  return (node?.textContent || "").replace(/\s+/g, " ").trim();
}

// One JSON request; `data` is the parsed body (the error envelope when not ok). Throws only
// when the network fails.
async function api(url, { method = "GET", body, keepalive = false } = {}) {
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

class PrescriptionForm {
  constructor(panel) {
    this.panel = panel;
    this.form = panel.querySelector("[data-prescription-form]");
    this.fields = panel.querySelector("[data-rx-fields]");
    this.list = panel.querySelector("[data-medicine-list]");
    this.template = panel.querySelector("[data-medicine-template]");
    this.statusLine = panel.querySelector("[data-save-status]");
    this.summary = panel.querySelector("[data-error-summary]");
    this.confirmBox = panel.querySelector("[data-confirm]");
    this.finalPanel = panel.querySelector("[data-final-panel]");
    this.storageKey = `prescription-draft:${panel.dataset.ticket}`;
    this.edits = 0; // changes made on this page
    this.savedEdits = 0; // how many of them the server has
    this.saved = true; // the last save succeeded (the page shows what the server has)
    this.saving = null;
    this.timer = null;
    this.lastError = null;
    this.savedRows = []; // the rows of the last saved draft, in the server's order
  }

  get id() {
    return this.panel.dataset.prescriptionId;
  }

  get state() {
    return this.panel.dataset.state;
  }

  start() {
    dropNoscript(this.panel);
    for (const row of this.rows()) this.prepareRow(row);
    this.panel.querySelector("[data-add-medicine]").hidden = false;
    this.savedRows = this.collect().rows;

    this.form.addEventListener("input", () => this.changed());
    this.form.addEventListener("change", () => this.changed());
    this.form.addEventListener("focusout", () => {
      if (this.edits !== this.savedEdits) this.save();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (event.submitter?.hasAttribute("data-sign")) this.askToSign();
      else this.save();
    });
    this.panel.querySelector("[data-add-medicine]").addEventListener("click", () => {
      const row = this.addRow();
      row.querySelector("[data-medicine-field]").focus();
    });
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("[data-remove-medicine]");
      if (button) this.removeRow(button.closest("[data-medicine-row]"));
    });
    this.panel.querySelector("[data-confirm-yes]").addEventListener("click", () => this.sign());
    this.panel.querySelector("[data-confirm-no]").addEventListener("click", () => this.hideConfirm());
    this.confirmBox.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.hideConfirm();
    });
    this.panel.querySelector("[data-correct-form]").addEventListener("submit", (event) => {
      event.preventDefault();
      this.correct();
    });
    this.summary.addEventListener("click", (event) => {
      const link = event.target.closest("a[href^='#']");
      const target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      reveal(target);
      const field = target.matches("input, select, textarea")
        ? target
        : target.querySelector("input, select, textarea");
      (field || target).focus();
      target.scrollIntoView({ block: "center" });
    });
    // Leaving with unsaved edits: one last save that outlives the page.
    window.addEventListener("pagehide", () => {
      if (this.state === "draft" && this.edits !== this.savedEdits) {
        api(this.panel.dataset.draftUrl, {
          method: "PUT",
          body: this.collect().payload,
          keepalive: true,
        }).catch(() => {});
      }
    });
    this.restore();
  }

  // --- What the form holds ----------------------------------------------------------------

  rows() {
    return [...this.list.querySelectorAll("[data-medicine-row]")];
  }

  // The draft in the API's shape, and the rows its medicines came from (untouched rows are
  // left out, as the page does without JavaScript).
  collect() {
    const payload = { vitals: {}, medicines: [] };
    for (const field of this.fields.querySelectorAll("[name]")) {
      const name = field.name;
      if (name.startsWith("medicines.")) continue;
      if (name.startsWith("vitals.")) {
        const value = field.value.trim();
        if (value !== "") {
          const number = Number(value);
          payload.vitals[name.slice("vitals.".length)] = Number.isFinite(number) ? number : value;
        }
      } else if (name === "follow_up_on") {
        payload[name] = field.value || null;
      } else {
        payload[name] = field.value;
      }
    }
    const rows = [];
    for (const row of this.rows()) {
      const line = {};
      for (const field of row.querySelectorAll("[data-medicine-field]")) {
        line[field.dataset.medicineField] = field.value.trim();
      }
      if (!MEDICINE_TEXT.some((name) => line[name])) continue;
      const days = line.duration_days;
      line.duration_days = days === "" ? null : /^\d+$/.test(days) ? Number(days) : days;
      payload.medicines.push(line);
      rows.push(row);
    }
    return { payload, rows };
  }

  fill(data) {
    for (const field of this.fields.querySelectorAll("[name]")) {
      const name = field.name;
      if (name.startsWith("medicines.")) continue;
      const value = name.startsWith("vitals.")
        ? data.vitals?.[name.slice("vitals.".length)]
        : data[name];
      field.value = value === null || value === undefined ? "" : String(value);
    }
    for (const row of this.rows()) row.remove();
    for (const line of data.medicines || []) this.addRow(line);
    if (!this.rows().length) this.addRow(); // one row to write in, as the page starts with
  }

  addRow(line = {}) {
    const fragment = this.template.content.cloneNode(true);
    const row = fragment.querySelector("[data-medicine-row]");
    for (const field of row.querySelectorAll("[data-medicine-field]")) {
      const value = line[field.dataset.medicineField];
      if (value !== undefined && value !== null && value !== "") field.value = String(value);
    }
    this.prepareRow(row);
    this.list.append(row);
    this.renumber();
    return row;
  }

  prepareRow(row) {
    row.querySelector("[data-remove-medicine]").hidden = false;
  }

  removeRow(row) {
    const rows = this.rows();
    const index = rows.indexOf(row);
    row.remove();
    this.renumber();
    const next = this.rows()[Math.min(index, rows.length - 2)];
    (next?.querySelector("[data-medicine-field]") ||
      this.panel.querySelector("[data-add-medicine]")).focus();
    this.changed();
  }

  // Row i's names, ids and labels say i; its heading says i + 1.
  renumber() {
    this.rows().forEach((row, index) => {
      for (const node of [row, ...row.querySelectorAll("*")]) {
        for (const attribute of ["id", "name", "for", "aria-describedby"]) {
          const value = node.getAttribute(attribute);
          if (value) {
            node.setAttribute(
              attribute,
              value.replace(/medicines([.-])(\d+|__i__)/g, `medicines$1${index}`),
            );
          }
        }
      }
      for (const number of row.querySelectorAll("[data-row-number]")) {
        number.textContent = String(index + 1);
      }
    });
  }

  // --- Saving -------------------------------------------------------------------------------

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
        JSON.stringify({ id: this.id, payload: this.collect().payload }),
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
    const current = JSON.stringify(this.collect().payload);
    if (kept.id !== this.id || this.state !== "draft" || JSON.stringify(kept.payload) === current) {
      this.forget();
      return;
    }
    this.fill(kept.payload);
    this.edits += 1;
    this.setStatus(strings.restored, "restored");
    this.save();
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
    const edits = this.edits;
    const { payload, rows } = this.collect();
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
      this.showErrors({}, rows);
      this.hideSummary();
      this.setStatus(format(strings.saved, { time: clockTime(new Date()) }), "saved");
      return true;
    }
    const error = response.data?.error || {};
    if (response.status === 401 || response.status === 403) {
      return this.failed(strings.signed_out, error, rows);
    }
    this.showErrors(error.fields || {}, rows);
    const why = this.describe(error.fields || {}, rows) || error.message || strings.failed;
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

  setStatus(message, state) {
    if (this.statusLine.textContent !== message) this.statusLine.textContent = message;
    this.panel.dataset.saveState = state;
  }

  // --- Errors -------------------------------------------------------------------------------

  // The input (or group) an error field name is about.
  target(key, rows) {
    if (key === "vitals" || key === "medicines") return this.panel.querySelector(`#rx-${key}`);
    const medicine = /^medicines\.(\d+)(?:\.(\w+))?$/.exec(key);
    if (medicine) {
      const row = rows[Number(medicine[1])];
      if (!row) return null;
      return medicine[2]
        ? row.querySelector(`[data-medicine-field="${medicine[2]}"]`)
        : row.querySelector("fieldset");
    }
    return this.form.elements.namedItem(key);
  }

  label(target) {
    if (!target) return "";
    if (target.matches("fieldset")) return text(target.querySelector("legend"));
    const own = text(document.querySelector(`label[for="${target.id}"]`));
    const row = target.closest("[data-medicine-row]");
    return row ? `${text(row.querySelector("legend"))}, ${own}` : own;
  }

  describe(fields, rows) {
    return Object.entries(fields)
      .map(([key, messages]) => {
        const label = this.label(this.target(key, rows));
        return `${label ? `${label}: ` : ""}${messages.join(" ")}`;
      })
      .join(" ");
  }

  // Each message beside its field, linked for screen readers; earlier ones are cleared.
  showErrors(fields, rows) {
    for (const list of this.form.querySelectorAll("ul.errors")) list.remove();
    for (const node of this.form.querySelectorAll(".has-error")) node.classList.remove("has-error");
    for (const node of this.form.querySelectorAll("[aria-invalid]")) {
      node.removeAttribute("aria-invalid");
    }
    for (const node of this.form.querySelectorAll("[aria-describedby]")) {
      const kept = node
        .getAttribute("aria-describedby")
        .split(/\s+/)
        .filter((id) => id && !id.endsWith("_errors"));
      if (kept.length) node.setAttribute("aria-describedby", kept.join(" "));
      else node.removeAttribute("aria-describedby");
    }
    for (const [key, messages] of Object.entries(fields)) {
      const target = this.target(key, rows);
      if (!target || !target.id) continue;
      reveal(target);
      const list = document.createElement("ul");
      list.className = "errors";
      list.id = `${target.id}_errors`;
      for (const message of messages) {
        const item = document.createElement("li");
        item.textContent = message;
        list.append(item);
      }
      if (target.matches("fieldset")) {
        target.querySelector("legend").after(list);
      } else {
        const box = target.closest(".field");
        box.classList.add("has-error");
        box.append(list);
        target.setAttribute("aria-invalid", "true");
      }
      const described = (target.getAttribute("aria-describedby") || "").split(/\s+/);
      target.setAttribute("aria-describedby", [...described, list.id].filter(Boolean).join(" "));
    }
  }

  // The list at the top of the form: what stops signing, each linked to its field.
  showSummary(message, fields, rows) {
    this.summary.querySelector("[data-error-message]").textContent = message || strings.failed;
    const list = this.summary.querySelector("[data-error-list]");
    list.replaceChildren();
    for (const [key, messages] of Object.entries(fields || {})) {
      const target = this.target(key, rows);
      const label = this.label(target);
      for (const message of messages) {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = `#${target?.closest("[id]")?.id || "rx-errors"}`;
        link.textContent = `${label ? `${label}: ` : ""}${message}`;
        item.append(link);
        list.append(item);
      }
    }
    this.summary.hidden = false;
    this.summary.focus();
  }

  hideSummary() {
    this.summary.hidden = true;
  }

  // --- Signing and correcting ---------------------------------------------------------------

  askToSign() {
    this.confirmBox.hidden = false;
    this.confirmBox.querySelector("[data-confirm-yes]").focus();
  }

  hideConfirm() {
    this.confirmBox.hidden = true;
    this.panel.querySelector("[data-sign]").focus();
  }

  async sign() {
    this.confirmBox.hidden = true;
    if (!(await this.save())) {
      const { error, rows } = this.lastError || { error: {}, rows: [] };
      this.showSummary(error.message || this.statusLine.textContent, error.fields, rows);
      return;
    }
    this.setStatus(strings.signing, "signing");
    let response;
    try {
      response = await api(this.panel.dataset.finaliseUrl, { method: "POST" });
    } catch {
      this.setStatus(strings.offline, "error");
      this.showSummary(strings.offline, {}, []);
      return;
    }
    if (response.ok) {
      this.showFinal(response.data);
      return;
    }
    const error = response.data?.error || {};
    this.showErrors(error.fields || {}, this.savedRows);
    this.showSummary(error.message, error.fields, this.savedRows);
    this.setStatus(error.message || strings.failed, "error");
  }

  showFinal(prescription) {
    this.panel.dataset.state = prescription.status;
    this.panel.dataset.prescriptionId = prescription.id;
    this.forget();
    this.hideSummary();
    this.fields.disabled = true;
    this.panel.querySelector("[data-draft-actions]").hidden = true;
    this.panel.querySelector("[data-correcting]").hidden = true;
    this.panel.querySelector("[data-final-text]").textContent = format(strings.signed, {
      number: prescription.number,
    });
    this.panel.querySelector("[data-pdf-link]").href = prescription.pdf_url;
    this.panel.querySelector("[data-fhir-link]").href = prescription.fhir_url;
    this.finalPanel.hidden = false;
    this.finalPanel.focus();
  }

  async correct() {
    const url = this.panel.dataset.correctUrl.replace(NIL_ID, this.id);
    let response;
    try {
      response = await api(url, { method: "POST" });
    } catch {
      this.showSummary(strings.offline, {}, []);
      return;
    }
    if (!response.ok) {
      this.showSummary(response.data?.error?.message, {}, []);
      return;
    }
    const draft = response.data;
    this.fill(draft);
    this.panel.dataset.state = draft.status;
    this.panel.dataset.prescriptionId = draft.id;
    this.panel.dataset.version = String(draft.version);
    this.savedEdits = this.edits;
    this.saved = true;
    this.savedRows = this.collect().rows;
    this.fields.disabled = false;
    this.finalPanel.hidden = true;
    this.panel.querySelector("[data-draft-actions]").hidden = false;
    const note = this.panel.querySelector("[data-correcting]");
    note.textContent = format(strings.correcting, { version: draft.version });
    note.hidden = false;
    this.setStatus(format(strings.saved, { time: clockTime(new Date()) }), "saved");
    this.fields.querySelector("textarea, input").focus();
  }
}

// Inside a closed <details> a field can be neither seen nor focused: open it.
function reveal(node) {
  const folded = node.closest("details");
  if (folded && !folded.open) folded.open = true;
}

function dropNoscript(root) {
  for (const node of root.querySelectorAll("noscript")) node.remove();
}

// The call page before the patient joins: load the form once the consultation exists.
async function waitForConsultation(panel) {
  const url = `${panel.dataset.pageUrl}?panel=call`;
  let delay = PENDING_POLL_MS;
  while (panel.isConnected) {
    await sleep(delay);
    delay = Math.min(PENDING_POLL_MAX_MS, delay * 1.5);
    let fresh = null;
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) continue;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      fresh = page.querySelector("[data-prescription-panel]");
    } catch {
      continue;
    }
    if (fresh && fresh.dataset.state !== "pending") {
      dropNoscript(fresh);
      const adopted = document.importNode(fresh, true);
      panel.replaceWith(adopted);
      start(adopted);
      return;
    }
  }
}

function start(panel) {
  if (panel.dataset.state === "pending") {
    waitForConsultation(panel);
    return;
  }
  const form = new PrescriptionForm(panel);
  form.start();
  panel.prescriptionForm = form; // for support and tests
}

for (const panel of document.querySelectorAll("[data-prescription-panel]")) start(panel);

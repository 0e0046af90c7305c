// Signing and correcting: "Sign and send" asks first, saves what is on screen, then
// finalises; a 400 `incomplete` names each missing part. A signed prescription can be
// corrected: the form becomes the draft of the next version.

import { api, format } from "./saving.js";

const NIL_ID = "00000000-0000-0000-0000-000000000000";

export class Signing {
  // draft: the form's DraftSaving; content: its PrescriptionFields; errors: its FormErrors.
  constructor({ panel, draft, content, errors, strings }) {
    Object.assign(this, { panel, draft, content, errors, strings });
    this.confirmBox = panel.querySelector("[data-confirm]");
    this.finalPanel = panel.querySelector("[data-final-panel]");
  }

  askToSign() {
    this.confirmBox.hidden = false;
    this.confirmBox.querySelector("[data-confirm-yes]").focus();
  }

  hideConfirm() {
    this.confirmBox.hidden = true;
    this.panel.querySelector("[data-sign]").focus();
  }

  async sign() {
    const { draft, errors, strings } = this;
    this.confirmBox.hidden = true;
    if (!(await draft.save())) {
      const { error, rows } = draft.lastError || { error: {}, rows: [] };
      errors.showSummary(error.message || draft.statusLine.textContent, error.fields, rows);
      return;
    }
    draft.setStatus(strings.signing, "signing");
    let response;
    try {
      response = await api(this.panel.dataset.finaliseUrl, { method: "POST" });
    } catch {
      draft.setStatus(strings.offline, "error");
      errors.showSummary(strings.offline, {}, []);
      return;
    }
    if (response.ok) {
      this.showFinal(response.data);
      return;
    }
    const error = response.data?.error || {};
    errors.show(error.fields || {}, draft.savedRows);
    errors.showSummary(error.message, error.fields, draft.savedRows);
    draft.setStatus(error.message || strings.failed, "error");
  }

  showFinal(prescription) {
    const { panel } = this;
    panel.dataset.state = prescription.status;
    panel.dataset.prescriptionId = prescription.id;
    this.draft.forget();
    this.errors.hideSummary();
    this.content.fields.disabled = true;
    panel.querySelector("[data-draft-actions]").hidden = true;
    panel.querySelector("[data-correcting]").hidden = true;
    panel.querySelector("[data-final-text]").textContent = format(this.strings.signed, {
      number: prescription.number,
    });
    panel.querySelector("[data-pdf-link]").href = prescription.pdf_url;
    panel.querySelector("[data-fhir-link]").href = prescription.fhir_url;
    this.finalPanel.hidden = false;
    this.finalPanel.focus();
  }

  async correct() {
    const { panel, errors } = this;
    const url = panel.dataset.correctUrl.replace(NIL_ID, this.draft.id);
    let response;
    try {
      response = await api(url, { method: "POST" });
    } catch {
      errors.showSummary(this.strings.offline, {}, []);
      return;
    }
    if (!response.ok) {
      errors.showSummary(response.data?.error?.message, {}, []);
      return;
    }
    const next = response.data;
    this.content.fill(next);
    panel.dataset.state = next.status;
    panel.dataset.prescriptionId = next.id;
    panel.dataset.version = String(next.version);
    this.content.fields.disabled = false;
    this.finalPanel.hidden = true;
    panel.querySelector("[data-draft-actions]").hidden = false;
    const note = panel.querySelector("[data-correcting]");
    note.textContent = format(this.strings.correcting, { version: next.version });
    note.hidden = false;
    this.draft.startedAfresh();
    this.content.fields.querySelector("textarea, input").focus();
  }
}

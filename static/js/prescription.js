// The doctor's prescription form (templates/consultations/prescription_form.html), on its own
// page and beside the video. This module wires the form's concerns, each a module in
// prescription/: fields (what the form holds, the medicine rows), errors (what the server's
// rules said, beside each field and in a summary), saving (autosave, kept in sessionStorage
// until the server has it) and signing (sign and send, correct).
//
// - Field names are the API's own ("medicines.0.dose"), so the error envelope's `fields` point
//   straight at the inputs.
// - On the call page the consultation only exists once the patient has joined: until then the
//   panel waits and loads the form from the page when it does. A page parsed by DOMParser has
//   scripting off, so its <noscript> rows are real inputs: they are dropped before the panel is
//   adopted (they would be numbered, and submitted, as medicines).
// - There is always a medicine row to write in; vitals and the rest sit in a <details> that
//   opens when an error points into it.

import { FormErrors } from "./prescription/errors.js";
import { PrescriptionFields } from "./prescription/fields.js";
import { DraftSaving } from "./prescription/saving.js";
import { Signing } from "./prescription/signing.js";

const PENDING_POLL_MS = 3000;
const PENDING_POLL_MAX_MS = 15000;

const strings = JSON.parse(document.getElementById("prescription-strings")?.textContent || "{}");

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function dropNoscript(root) {
  for (const node of root.querySelectorAll("noscript")) node.remove();
}

// One panel's form: its concerns, and the events that drive them.
function startForm(panel) {
  dropNoscript(panel);
  const form = panel.querySelector("[data-prescription-form]");
  const addButton = panel.querySelector("[data-add-medicine]");
  const content = new PrescriptionFields({
    fields: panel.querySelector("[data-rx-fields]"),
    list: panel.querySelector("[data-medicine-list]"),
    template: panel.querySelector("[data-medicine-template]"),
    addButton,
    onChange: () => draft.changed(),
  });
  for (const row of content.rows()) content.prepareRow(row);
  addButton.hidden = false;
  const summary = panel.querySelector("[data-error-summary]");
  const errors = new FormErrors({ panel, form, summary, strings });
  const statusLine = panel.querySelector("[data-save-status]");
  const draft = new DraftSaving({ panel, content, errors, statusLine, strings });
  const signing = new Signing({ panel, draft, content, errors, strings });

  form.addEventListener("input", () => draft.changed());
  form.addEventListener("change", () => draft.changed());
  form.addEventListener("focusout", () => {
    if (draft.unsaved) draft.save();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.submitter?.hasAttribute("data-sign")) signing.askToSign();
    else draft.save();
  });
  addButton.addEventListener("click", () => {
    const row = content.addRow();
    row.querySelector("[data-medicine-field]").focus();
  });
  content.list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-medicine]");
    if (button) content.removeRow(button.closest("[data-medicine-row]"));
  });
  panel.querySelector("[data-confirm-yes]").addEventListener("click", () => signing.sign());
  panel.querySelector("[data-confirm-no]").addEventListener("click", () => signing.hideConfirm());
  signing.confirmBox.addEventListener("keydown", (event) => {
    if (event.key === "Escape") signing.hideConfirm();
  });
  panel.querySelector("[data-correct-form]").addEventListener("submit", (event) => {
    event.preventDefault();
    signing.correct();
  });
  summary.addEventListener("click", (event) => errors.follow(event));
  window.addEventListener("pagehide", () => draft.saveOnLeaving());
  draft.restore();
  return { content, errors, draft, signing };
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
  panel.prescriptionForm = startForm(panel); // for support and tests
}

for (const panel of document.querySelectorAll("[data-prescription-panel]")) start(panel);

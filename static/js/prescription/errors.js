// What the server's rules said about the form: each message beside its field (the error
// envelope's `fields` use the inputs' own names, "medicines.0.dose"), and the summary at the
// top of the form of what stops signing, each linked to its field.

function text(node) {
  return (node?.textContent || "").replace(/\s+/g, " ").trim();
}

// Inside a closed <details> a field can be neither seen nor focused: open it.
export function reveal(node) {
  const folded = node.closest("details");
  if (folded && !folded.open) folded.open = true;
}

export class FormErrors {
  // rows, wherever asked for, are the medicine rows of the draft the errors are about, in the
  // server's order.
  constructor({ panel, form, summary, strings }) {
    Object.assign(this, { panel, form, summary, strings });
  }

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
  show(fields, rows) {
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
    this.summary.querySelector("[data-error-message]").textContent = message || this.strings.failed;
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

  // A link of the summary followed: open, focus and show the field it names.
  follow(event) {
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
  }
}

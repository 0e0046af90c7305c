// What the prescription form holds: its fields in the API's shape, and the medicine rows the
// doctor adds and removes (templates/consultations/medicine_row.html).

const MEDICINE_TEXT = ["name", "strength", "dose", "duration_days", "instructions"];

export class PrescriptionFields {
  // fields: the <fieldset> of every input; list: where the medicine rows are; template: a new
  // row; addButton: "Add a medicine"; onChange(): the doctor changed something.
  constructor({ fields, list, template, addButton, onChange = () => {} }) {
    Object.assign(this, { fields, list, template, addButton, onChange });
  }

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
    (next?.querySelector("[data-medicine-field]") || this.addButton).focus();
    this.onChange();
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
}

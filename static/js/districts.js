// Keep the district list to the chosen state. Without JavaScript the full list, grouped by
// state, still works; the server checks the pair either way.
const stateSelect = document.querySelector('select[name="state"]');
const districtSelect = document.querySelector('select[name="district"]');

if (stateSelect && districtSelect) {
  const groups = new Map();
  for (const group of districtSelect.querySelectorAll("optgroup")) {
    groups.set(group.label, group);
  }
  const placeholder = districtSelect.querySelector('option[value=""]');
  const all = [...groups.values()];

  const showStateDistricts = () => {
    const label = stateSelect.selectedOptions[0]?.textContent?.trim() ?? "";
    const chosen = groups.get(label);
    for (const group of all) {
      group.hidden = group !== chosen;
      group.disabled = group !== chosen;
    }
    const current = districtSelect.selectedOptions[0];
    if (current && current.parentElement !== chosen && current !== placeholder) {
      districtSelect.value = "";
    }
    districtSelect.disabled = !chosen;
    districtSelect.required = Boolean(chosen);
  };

  stateSelect.addEventListener("change", showStateDistricts);
  showStateDistricts();
}

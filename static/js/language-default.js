// A new family member's consultation language follows the chosen state (the server's rule:
// patients.services.likely_language, sent as #state-languages) until the person picks a language
// themself. Without JavaScript the language starts as the likely one for the page's language.
const likely = JSON.parse(document.getElementById("state-languages")?.textContent || "null");
const stateSelect = document.querySelector('select[name="state"]');
const languageSelect = document.querySelector('select[name="preferred_language"]');

if (likely && stateSelect && languageSelect) {
  let chosen = false;
  languageSelect.addEventListener("change", () => {
    chosen = true;
  });
  stateSelect.addEventListener("change", () => {
    const language = likely[stateSelect.value];
    if (!chosen && language) languageSelect.value = language;
  });
}

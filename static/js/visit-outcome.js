// After a consultation (templates/consultations/visit_outcome.html): until the doctor has signed
// the prescription, ask the server again now and then and show what it says. It stops once the
// prescription is there, or after an hour (a visit may end without one).
//
// The section stays in place and only its content changes, so screen readers hear the news
// (it is a polite live region).

const FIRST_MS = 3000;
const LONGEST_MS = 30000;
const GIVE_UP_MS = 60 * 60 * 1000;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function refresh(section) {
  const response = await fetch(section.dataset.url, {
    credentials: "same-origin",
    headers: { Accept: "text/html" },
  });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.querySelector("[data-visit-outcome]");
  if (!fresh || fresh.innerHTML === section.innerHTML) return;
  section.replaceChildren(...[...fresh.childNodes].map((node) => document.importNode(node, true)));
  section.dataset.state = fresh.dataset.state;
}

// Show the section and keep it current. Safe to call again (and from several scripts).
export async function followOutcome(section) {
  if (!section || section.dataset.following) return;
  section.dataset.following = "true";
  section.hidden = false;
  const started = Date.now();
  let delay = FIRST_MS;
  // Shown live, when the call has just ended: the page may be older than the prescription.
  await refresh(section).catch(() => {});
  while (section.isConnected && section.dataset.state !== "ready") {
    if (Date.now() - started > GIVE_UP_MS) return;
    await sleep(delay);
    delay = Math.min(LONGEST_MS, delay * 1.5);
    await refresh(section).catch(() => {});
  }
}

for (const section of document.querySelectorAll("[data-visit-outcome]:not([hidden])")) {
  followOutcome(section);
}

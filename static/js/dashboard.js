// The state and national dashboards.
//
// - Charts: each <canvas data-chart="ID"> is drawn by Chart.js (static/vendor/, installed by
//   `make vendor`) from the JSON in the element with that id; the same figures are in the table
//   beside it, so nothing is lost without JavaScript or for a screen reader.
// - Live now: a socket (/ws/dashboard/live/, see dashboards/consumers.py) sends a `live` frame on
//   connect and whenever a queue changes; the figures and the OPD table are rewritten in place.
// - Freshness: "updated N s ago" lines count on by themselves (see below).

import { LiveSocket } from "./live-socket.js";

const strings = JSON.parse(document.getElementById("dashboard-strings")?.textContent || "{}");
const PALETTE = ["#0b5d4b", "#b35c00", "#1f5fa8", "#a4161a", "#5b3f8c", "#4a4a4a"];
const BAR_REM = 1.75; // height per bar of a horizontal bar chart
const LABEL_CHARS = 18; // longer names are shortened on the chart (the table has them whole)
const REM = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;

function chartConfig(spec) {
  const valueAxis = spec.horizontal ? "x" : "y";
  const categoryAxis = spec.horizontal ? "y" : "x";
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  return {
    type: spec.type,
    data: {
      labels: spec.labels,
      datasets: spec.datasets.map((set, index) => ({
        label: set.label,
        data: set.data,
        backgroundColor: PALETTE[index % PALETTE.length],
        borderColor: PALETTE[index % PALETTE.length],
        borderWidth: spec.type === "line" ? 2 : 0,
        pointRadius: spec.type === "line" ? 2 : 0,
        tension: 0.2,
      })),
    },
    options: {
      indexAxis: spec.horizontal ? "y" : "x",
      responsive: true,
      maintainAspectRatio: false,
      animation: reducedMotion ? false : { duration: 300 },
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
      scales: {
        [valueAxis]: {
          beginAtZero: true,
          stacked: spec.stacked,
          ticks: { precision: spec.percent ? 1 : 0 },
        },
        [categoryAxis]: {
          stacked: spec.stacked,
          ticks: {
            autoSkip: !spec.horizontal,
            callback(value) {
              const label = String(this.getLabelForValue(value));
              return label.length > LABEL_CHARS ? `${label.slice(0, LABEL_CHARS - 1)}…` : label;
            },
          },
        },
      },
    },
  };
}

function drawCharts() {
  const { Chart } = window;
  if (!Chart) return; // the tables still hold every figure
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1a1a1a";
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) continue;
    const spec = JSON.parse(source.textContent);
    const box = canvas.parentElement;
    box.hidden = false;
    // The table stays one click away (the states table, whose names are links, stays open);
    // without a chart it stays open.
    box
      .closest("section")
      ?.querySelector("details.dash-data:not([data-keep-open])")
      ?.removeAttribute("open");
    if (spec.horizontal) {
      // One readable bar per row, however many rows (36 states and UTs).
      const rows = Math.max(spec.labels.length, 3);
      box.style.height = `${(rows * BAR_REM + 5) * REM}px`;
    }
    new Chart(canvas, chartConfig(spec));
  }
}

// --- How fresh the figures are ---------------------------------------------------------------
//
// "Updated 32 s ago": the server renders it with the figures' age; a timer counts on from
// there (no reliance on the browser's clock agreeing with the server's), and a live frame
// starts the live panel's count again. The sentences are the server's, translated.

const clocks = new Map(); // [data-freshness] element -> {age at `since`, since (ms)}

function fill(template, name, value) {
  return (template || "").replace(`{${name}}`, String(value));
}

function showAge(node) {
  const clock = clocks.get(node);
  const age = Math.max(0, Math.floor(clock.age + (performance.now() - clock.since) / 1000));
  const text =
    age < 60
      ? fill(node.dataset.secondsText, "seconds", age)
      : fill(node.dataset.minutesText, "minutes", Math.floor(age / 60));
  const shown = node.querySelector("[data-freshness-age]");
  if (shown && shown.textContent !== text) shown.textContent = text;
}

// New figures read at `at` (ISO 8601 in IST, as the server sends it) just arrived.
function updated(node, at) {
  clocks.set(node, { age: 0, since: performance.now() });
  const exact = node.querySelector("[data-freshness-exact]");
  if (exact) {
    exact.dateTime = at;
    exact.textContent = fill(node.dataset.exactText, "time", at.slice(11, 19));
  }
  showAge(node);
}

function followFreshness() {
  for (const node of document.querySelectorAll("[data-freshness]")) {
    clocks.set(node, { age: Number(node.dataset.ageSeconds) || 0, since: performance.now() });
  }
  if (clocks.size) setInterval(() => clocks.forEach((_clock, node) => showAge(node)), 1000);
}

// --- Live now ------------------------------------------------------------------------------

function minutes(seconds) {
  return seconds === null || seconds === undefined ? "—" : (seconds / 60).toFixed(1);
}

function cell(tag, text, className) {
  const node = document.createElement(tag);
  node.textContent = String(text);
  if (tag === "th") node.scope = "row";
  if (className) node.className = className;
  return node;
}

function liveRow(name, figures) {
  const row = document.createElement("tr");
  row.append(
    cell("th", name),
    cell("td", figures.waiting, "num"),
    cell("td", figures.doctors_on_duty, "num"),
    cell("td", figures.in_consultation, "num"),
    cell("td", minutes(figures.longest_wait_seconds), "num"),
  );
  return row;
}

function showLive(root, frame) {
  for (const node of root.querySelectorAll("[data-live-figure]")) {
    const name = node.dataset.liveFigure;
    if (name === "longest_wait_seconds") {
      const value = minutes(frame.longest_wait_seconds);
      node.textContent =
        value === "—" ? value : (strings.minutes || "%(minutes)s min").replace("%(minutes)s", value);
    } else {
      node.textContent = String(frame[name]);
    }
  }
  const freshness = root.querySelector("[data-freshness]");
  if (freshness && frame.at) updated(freshness, frame.at);
  const table = root.querySelector('[data-table="live"]');
  const body = table?.querySelector("[data-rows]");
  if (body) {
    if (frame.opds.length) {
      body.replaceChildren(...frame.opds.map((opd) => liveRow(opd.name, opd)));
    } else {
      const row = document.createElement("tr");
      row.append(cell("td", root.dataset.empty || "—"));
      row.firstChild.colSpan = 5;
      body.replaceChildren(row);
    }
  }
  const totals = table?.querySelector("[data-totals] tr");
  if (totals) {
    const label = totals.querySelector("th")?.textContent || "";
    totals.replaceWith(liveRow(label, frame));
  }
}

function followLive() {
  const root = document.querySelector("[data-live]");
  if (!root) return;
  const status = root.querySelector("[data-connection]");
  const say = (text) => {
    if (status && text && status.textContent !== text) status.textContent = text;
  };
  say(strings.starting);
  const state = root.dataset.state;
  const socket = new LiveSocket(root.dataset.wsPath, {
    query: () => (state ? `?state=${encodeURIComponent(state)}` : ""),
    onOpen: () => say(strings.live),
    onMessage(message) {
      if (message.type === "live") {
        showLive(root, message);
        root.dataset.liveUpdates = String(Number(root.dataset.liveUpdates || 0) + 1);
      }
    },
    onRetry: () => say(strings.reconnecting),
    onRefused: () => say(strings.refused),
  });
  socket.start();
}

drawCharts();
followFreshness();
followLive();

// The demo's entry: loads the pushed model and its sidecar from this server, keeps the watch
// list, and asks the model for new recommendations on every change, in the page.
//
// Deterministic entry for tests and links: ?history=ID,ID,... preloads the watch list; the
// page sets document.body.dataset.ready = "true" after its first result; window.movieRecs
// exposes the last inputs and result, and a benchmark of the current inputs.

import { InputBuilder, parseHistory } from "./inputs.js";
import { loadRuntime, OnDeviceModel } from "./model.js";
import * as view from "./view.js";

const SEARCH_RESULTS = 12;
const SUGGESTIONS = 5; // most watched titles shown while the search box is empty

const state = { watched: [], profile: {}, variant: "float" };
let config, sidecar, builder;
const models = {};
let queue = Promise.resolve();

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** The compiled model of a variant ("float" or "int8"), compiled on first use. */
async function model(variant) {
  models[variant] ??= OnDeviceModel.load(config.models[variant], config.signature, config.outputs);
  return models[variant];
}

/** Asks the model and renders its answer; calls run one at a time, in click order. */
function refresh() {
  queue = queue.then(recommendNow).catch((error) => {
    view.showStatus(`The model failed: ${error.message}`, true);
    console.error(error);
  });
  return queue;
}

async function recommendNow() {
  const inputs = builder.build(state.watched, state.profile);
  const result = await (await model(state.variant)).recommend(inputs);
  const older = builder.olderThanExcluded(state.watched);
  const top = result.ids
    .map((id, rank) => ({ id, score: result.scores[rank] }))
    .filter(({ id }) => !older.has(id));
  window.movieRecs.lastInputs = Object.fromEntries(
    Object.entries(inputs).map(([name, array]) => [name, Array.from(array)]),
  );
  window.movieRecs.lastResult = { ...result, variant: state.variant, top };
  view.keepingFocus(() => {
    view.renderRecommendations(top, sidecar.movies, add);
    renderWatched();
  });
  view.renderLatency(result.ms, state.variant);
  updateUrl();
  document.body.dataset.ready = "true";
}

function renderWatched() {
  view.renderWatched(state.watched, sidecar.movies, {
    inWindow: Math.min(builder.window, state.watched.length),
    rated: Boolean(config.rating_input),
    onRemove: remove,
    onRate: (index) => (stars) => {
      state.watched[index].rating = stars;
      refresh();
    },
  });
}

function add(id) {
  if (state.watched.some((entry) => entry.id === id)) return;
  const fromSearch = document.activeElement?.closest("#search-results");
  state.watched.push({ id, rating: 0 });
  search();
  if (fromSearch) document.getElementById("search").focus(); // ready for the next title
  refresh();
}

function remove(index) {
  state.watched.splice(index, 1);
  refresh().then(() => document.getElementById("search").focus());
}

/** Titles matching the search box, most watched first (the sidecar's vocabulary order). */
function search() {
  const query = document.getElementById("search").value.trim().toLowerCase();
  const watched = new Set(state.watched.map((entry) => String(entry.id)));
  const limit = query ? SEARCH_RESULTS : SUGGESTIONS;
  const matches = [];
  for (const id of config.movie_order) {
    const movie = sidecar.movies[id];
    if (!watched.has(id) && movie.title.toLowerCase().includes(query)) matches.push([id, movie]);
    if (matches.length === limit) break;
  }
  view.renderResults(matches, add);
  return matches;
}

/** Keeps the address shareable: ?history= always names the current watch list. */
function updateUrl() {
  const url = new URL(window.location.href);
  url.searchParams.set("history", state.watched.map((entry) => entry.id).join(","));
  window.history.replaceState(null, "", url);
}

function wireControls() {
  const box = document.getElementById("search");
  box.addEventListener("input", search);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      const [first] = search();
      if (first) add(Number(first[0]));
      event.preventDefault();
    } else if (event.key === "Escape") {
      box.value = "";
      search();
    }
  });
  document.getElementById("search-results").addEventListener("keydown", view.moveFocus);
  box.addEventListener("keydown", view.moveFocus);
  const toggle = document.getElementById("int8");
  toggle.disabled = !config.models.int8;
  toggle.closest("label").hidden = !config.models.int8;
  toggle.addEventListener("change", () => {
    state.variant = toggle.checked ? "int8" : "float";
    refresh();
  });
  view.renderProfile(config.profile, (name, value) => {
    state.profile[name] = value;
    refresh();
  });
}

/** Per-call times of the current inputs (after warm-up), for benchmarks/bench_demo.py. */
async function bench(variant, calls = 1000, warmup = 100) {
  const runner = await model(variant);
  const inputs = builder.build(state.watched, state.profile);
  const run = [];
  const call = [];
  for (let i = 0; i < warmup + calls; i++) {
    const start = performance.now();
    const result = await runner.recommend(inputs);
    const total = performance.now() - start;
    if (i >= warmup) {
      run.push(result.ms);
      call.push(total);
    }
  }
  return { run, call, crossOriginIsolated: window.crossOriginIsolated };
}

async function main() {
  window.movieRecs = { bench };
  view.showStatus("Loading the model…");
  config = await fetchJson("config.json");
  sidecar = await fetchJson(config.sidecar);
  builder = new InputBuilder(sidecar, config);
  const { ids, rejected } = parseHistory(new URLSearchParams(window.location.search).get("history"));
  // A movie is on the list once (its first time): the list is what was watched, not a log.
  state.watched = [...new Set(ids)].map((id) => ({ id, rating: 0 }));
  await loadRuntime(config.runtime);
  view.renderModelInfo(config, sidecar, builder.window);
  wireControls();
  search();
  await refresh();
  view.showStatus(rejected.length ? `Ignored in ?history: ${rejected.join(", ")}` : "", rejected.length > 0);
}

main().catch((error) => {
  view.showStatus(`The demo could not start: ${error.message}`, true);
  console.error(error);
});

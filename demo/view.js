// Rendering: plain DOM, one function per part of the page. Every control is a real button
// or select, so the whole page works with the keyboard (Tab, Enter, arrows in the results).

const $ = (id) => document.getElementById(id);

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** The title with its year (MovieLens titles usually carry it already). */
function movieTitle(movie) {
  const year = movie.year ? ` (${movie.year})` : "";
  return movie.title.endsWith(year) ? movie.title : `${movie.title}${year}`;
}

/** The page's header line about the model it runs. */
export function renderModelInfo(config, sidecar, window) {
  const quality = sidecar.quality?.["hr@10"];
  const parts = [
    `Model ${config.model_label}`,
    `reads your last ${window} movies`,
    `top ${sidecar.k}`,
    quality === undefined ? null : `HR@10 on held-out users ${quality.toFixed(3)}`,
  ];
  $("model-info").textContent = parts.filter(Boolean).join(" · ");
}

/** Search results as buttons; `onAdd(id)` adds one. Arrow keys move between them. */
export function renderResults(matches, onAdd) {
  const list = $("search-results");
  list.replaceChildren(
    ...matches.map(([id, movie]) =>
      element(
        "li",
        {},
        element(
          "button",
          { type: "button", className: "result", dataset: { movieId: id }, onclick: () => onAdd(Number(id)) },
          element("span", { className: "title" }, movieTitle(movie)),
          element("span", { className: "meta" }, movie.genres.join(", ")),
        ),
      ),
    ),
  );
}

/** Moves focus among the search results (ArrowUp/ArrowDown); the box is above the first. */
export function moveFocus(event) {
  const buttons = [...document.querySelectorAll("#search-results button")];
  const index = buttons.indexOf(document.activeElement);
  if (event.key === "ArrowDown" && buttons.length) {
    buttons[Math.min(index + 1, buttons.length - 1)].focus();
    event.preventDefault();
  } else if (event.key === "ArrowUp" && index >= 0) {
    (index === 0 ? $("search") : buttons[index - 1]).focus();
    event.preventDefault();
  }
}

function ratingSelect(entry, title, onRate) {
  const options = [element("option", { value: "0" }, "no stars")];
  for (let stars = 1; stars <= 5; stars++) {
    options.push(element("option", { value: String(stars) }, "★".repeat(stars)));
  }
  const select = element(
    "select",
    { className: "rating", "aria-label": `Your rating of ${title}`, onchange: (e) => onRate(Number(e.target.value)) },
    ...options,
  );
  select.value = String(entry.rating || 0);
  return select;
}

/**
 * The watch list, oldest first. `movies` is the sidecar's table; an id it lacks is shown
 * as watched but marked as unknown to the model. `inWindow` is how many of the most recent
 * entries the model reads.
 */
export function renderWatched(watched, movies, { inWindow, rated, onRemove, onRate }) {
  const firstRead = watched.length - inWindow;
  $("watched").replaceChildren(
    ...watched.map((entry, index) => {
      const movie = movies[String(entry.id)];
      const title = movie ? movieTitle(movie) : `Movie ${entry.id}`;
      return element(
        "li",
        { dataset: { movieId: entry.id, inWindow: String(index >= firstRead) } },
        element("span", { className: "title" }, title),
        movie ? null : element("span", { className: "unknown" }, "not in the model's catalogue"),
        rated && movie ? ratingSelect(entry, title, onRate(index)) : null,
        element(
          "button",
          { type: "button", className: "remove", "aria-label": `Remove ${title}`, onclick: () => onRemove(index) },
          "Remove",
        ),
      );
    }),
  );
  $("watched-count").textContent = watched.length ? `(${watched.length})` : "";
  const older = Math.max(0, firstRead);
  $("window-note").textContent = watched.length
    ? older
      ? `The model reads your last ${inWindow}; all ${watched.length} are never recommended.`
      : "Oldest first. Every movie here is left out of the recommendations."
    : "Nothing yet: search above, or start from a recommendation.";
}

/** One selector per profile input the model takes ("not given" leaves it empty). */
export function renderProfile(profileInputs, onChange) {
  const fieldset = $("profile");
  fieldset.hidden = profileInputs.length === 0;
  for (const input of profileInputs) {
    const id = `profile-${input.name}`;
    const select = element(
      "select",
      { id, onchange: (e) => onChange(input.name, e.target.value === "" ? null : Number(e.target.value)) },
      element("option", { value: "" }, "not given"),
      ...input.options.map((o) => element("option", { value: String(o.value) }, o.label)),
    );
    fieldset.append(element("div", { className: "field" }, element("label", { htmlFor: id }, input.label), select));
  }
}

/** The recommendations: one <li data-movie-id> each, best first, with an add button. */
export function renderRecommendations(top, movies, onAdd) {
  $("recommendations").replaceChildren(
    ...top.map(({ id, score }) => {
      const movie = movies[String(id)];
      return element(
        "li",
        { dataset: { movieId: id, score: String(score) } },
        element("span", { className: "title" }, movieTitle(movie)),
        element(
          "button",
          { type: "button", className: "add", "aria-label": `I watched ${movie.title}`, onclick: () => onAdd(id) },
          "Watched it",
        ),
        element("span", { className: "meta" }, `${movie.genres.join(", ")} · score ${score.toFixed(3)}`),
      );
    }),
  );
}

/**
 * Runs `render` (which rebuilds lists) and puts the keyboard focus back on the same control
 * of the same movie, or on the list's first control when that movie left the list, so a
 * keyboard user never lands back at the top of the page.
 */
export function keepingFocus(render) {
  const active = document.activeElement;
  const item = active?.closest("li[data-movie-id]");
  const list = item?.parentElement;
  render();
  if (!item || !list?.id) return;
  const tag = active.tagName.toLowerCase();
  const control = active.className ? `${tag}.${active.className.split(" ")[0]}` : tag;
  const same = list.querySelector(`li[data-movie-id="${item.dataset.movieId}"] ${control}`);
  (same ?? list.querySelector("button, select"))?.focus();
}

/** The last call's inference time, and which model answered. */
export function renderLatency(ms, variant) {
  const latency = $("latency");
  latency.dataset.ms = String(ms);
  latency.textContent = `Last call: ${ms.toFixed(2)} ms in this page (${variant} model, LiteRT.js WASM)`;
}

export function showStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

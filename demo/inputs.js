// The model's inputs for a watch list: the page's copy of Recommender.features
// (components/export/on_device_model.py). Years and genres are not derived here: each movie's
// values come ready in the sidecar (movies[id].inputs, from components/export/movie_inputs.py),
// and this only concatenates them, oldest first, keeps the most recent `length` and pads on
// the left.

const PADDING = 0;

/** Parses `?history=1,2,3` into positive integer ids; bad entries are reported, not used. */
export function parseHistory(text) {
  const ids = [];
  const rejected = [];
  for (const part of (text || "").split(",").map((p) => p.trim()).filter(Boolean)) {
    const id = /^\d+$/.test(part) ? Number(part) : NaN;
    if (Number.isSafeInteger(id) && id >= 1) ids.push(id);
    else rejected.push(part);
  }
  return { ids, rejected };
}

/** The most recent `length` values, newest last, PADDING in front (ids.left_padded). */
export function leftPadded(values, length, dtype) {
  const array = dtype === "float32" ? new Float32Array(length) : new Int32Array(length);
  const recent = length ? values.slice(-length) : [];
  array.set(recent, length - recent.length);
  return array;
}

/** Reads the sidecar once: specs by name, the window length, the unknown movie's id. */
export class InputBuilder {
  constructor(sidecar, config) {
    this.sidecar = sidecar;
    this.config = config;
    this.specs = Object.fromEntries(sidecar.inputs.map((spec) => [spec.name, spec]));
    const movieSpec = this.specs[config.movie_input];
    this.window = movieSpec.length;
    this.unknownId = movieSpec.unknown_id;
    this.excludedLength = this.specs[config.excluded_input].length;
    this.derived = new Set(Object.keys(sidecar.unknown_movie_inputs));
  }

  isKnown(id) {
    return Object.hasOwn(this.sidecar.movies, String(id));
  }

  /** The id the model takes for a watched movie: unknown ones share the unknown id. */
  modelId(id) {
    return this.isKnown(id) ? id : this.unknownId;
  }

  /** The per-movie values of a derived input (year, genres) over `watched`, oldest first. */
  derivedValues(watched, name) {
    const unknown = this.sidecar.unknown_movie_inputs[name];
    return watched.flatMap((movie) =>
      this.isKnown(movie.id) ? this.sidecar.movies[String(movie.id)].inputs[name] : unknown,
    );
  }

  /** Raw values of one input, before padding; what the model cannot know stays empty. */
  values(name, recent, profile) {
    if (name === this.config.movie_input) return recent.map((m) => this.modelId(m.id));
    if (this.derived.has(name)) return this.derivedValues(recent, name);
    // A movie without stars is 0, the padding value: the same as no rating at all.
    if (name === this.config.rating_input) return recent.map((m) => m.rating || PADDING);
    if (name in profile && profile[name] !== null) return [profile[name]];
    return [];
  }

  /**
   * The signature's inputs for `watched` ([{id, rating}], oldest first) and `profile`
   * (input name -> value or null): typed arrays by input name. The model reads the most
   * recent `window` movies; the whole list (its most recent excludedLength) is excluded.
   */
  build(watched, profile) {
    const recent = watched.slice(-this.window);
    const inputs = {};
    for (const [name, spec] of Object.entries(this.specs)) {
      if (name === this.config.excluded_input) continue;
      inputs[name] = leftPadded(this.values(name, recent, profile), spec.length, spec.dtype);
    }
    const excluded = watched.map((m) => this.modelId(m.id));
    inputs[this.config.excluded_input] = leftPadded(excluded, this.excludedLength, "int32");
    return inputs;
  }

  /** Movies watched before the excluded input's reach: the page filters them out itself. */
  olderThanExcluded(watched) {
    return new Set(watched.slice(0, -this.excludedLength).map((m) => m.id));
  }
}

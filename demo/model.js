// The pushed .tflite model in the page, with LiteRT.js on its WebAssembly CPU runtime (what
// a phone's CPU delegate does). Signatures are chosen by name and outputs read by name, as
// the sidecar describes them; LiteRT.js memory is manual, so every tensor is freed here.

import { loadAndCompile, loadLiteRt, Tensor } from "@litertjs/core";

let runtime = null;

/** Loads the WASM runtime once, from this server (never a CDN: the demo works offline). */
export function loadRuntime(wasmFolder) {
  // No threads: they give nothing for a model this small (one call is a fraction of a ms).
  runtime ??= loadLiteRt(wasmFolder, { threads: false });
  return runtime;
}

export class OnDeviceModel {
  constructor(compiled, signature, outputs) {
    this.compiled = compiled;
    this.runner = compiled.signatures[signature];
    if (!this.runner) throw new Error(`the model has no signature ${signature}`);
    this.outputs = outputs;
  }

  /**
   * Compiles the model and makes one call on empty inputs: the first call prepares the CPU
   * kernels (tens of ms), which is set-up, not the latency the page shows per click.
   */
  static async load(url, signature, outputs) {
    const compiled = await loadAndCompile(url, { accelerator: "wasm" });
    const model = new OnDeviceModel(compiled, signature, outputs);
    await model.recommend(model.emptyInputs());
    return model;
  }

  /** All-padding inputs (an empty history), shaped and typed as the signature says. */
  emptyInputs() {
    const arrays = {};
    for (const { name, dtype, shape } of this.runner.getInputDetails()) {
      const size = shape.reduce((product, dim) => product * dim, 1);
      arrays[name] = dtype === "float32" ? new Float32Array(size) : new Int32Array(size);
    }
    return arrays;
  }

  /** The input names the signature takes (a model may take fewer than the sidecar lists). */
  inputNames() {
    return this.runner.getInputDetails().map((detail) => detail.name);
  }

  /**
   * One call: typed arrays by input name in, {ids, scores, ms} out. `ms` times the model
   * call alone (tensors in place, outputs not yet read), as a benchmark of the device would.
   */
  async recommend(arrays) {
    const tensors = {};
    for (const name of this.inputNames()) tensors[name] = new Tensor(arrays[name]);
    let outputs = {};
    try {
      const start = performance.now();
      outputs = await this.runner.run(tensors);
      const ms = performance.now() - start;
      return {
        ids: Array.from(outputs[this.outputs.ids].toTypedArray()),
        scores: Array.from(outputs[this.outputs.scores].toTypedArray()),
        ms,
      };
    } finally {
      for (const tensor of [...Object.values(tensors), ...Object.values(outputs)]) {
        tensor.delete();
      }
    }
  }

  delete() {
    this.compiled.delete();
  }
}

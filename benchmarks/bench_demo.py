"""Latency of the pushed model in the browser demo (LiteRT.js, WASM) vs the Python interpreter.

    python -m benchmarks.bench_demo [--model outputs] [--calls 3000] [--warmup 300]

The demo server (commands.demo) serves the model to the system Chromium (headless, driven by
Playwright); the page times ``--calls`` calls of ``recommend_unseen`` on one history after
``--warmup`` calls, each with performance.now() (5 us ticks: the page is cross-origin
isolated): "call" is what a click costs (tensors in, arrays out, tensors freed), "run" the
model call alone. The Python LiteRT interpreter (one thread) answers the same inputs, timed
per call with perf_counter. Float, and int8 weights: the pushed variant, or when the pusher
kept none (it keeps it only within 1% of the float model's HR@10), the same conversion of
the pushed model's SavedModel (from the sidecar's lineage), made here for the measurement.
The history is the model's window of the most watched movies. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from benchmarks.browser import READY, launch
from commands import demo
from components import names
from components.export import on_device_model
from components.export.layout import (
    EXCLUDED_MOVIES,
    MODEL_FILE,
    QUANTIZED_FILE,
    RECOMMEND_UNSEEN,
    SIDECAR_FILE,
)
from components.transform import ids
from pipeline import paths


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    return float(np.median(samples_ms)), float(np.percentile(samples_ms, 99))


def python_ms(
    model_path: str, inputs: dict[str, np.ndarray], calls: int, warmup: int
) -> list[float]:
    """Per-call times of the standalone interpreter, one thread, the same inputs."""
    runner = Interpreter(model_path=model_path, num_threads=1).get_signature_runner(
        RECOMMEND_UNSEEN
    )
    samples = []
    for i in range(warmup + calls):
        start = time.perf_counter()
        runner(**inputs)
        if i >= warmup:
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def with_converted_int8(recommender: on_device_model.Recommender, folder: str) -> str:
    """A copy of the pushed folder plus the int8-weights conversion the pusher did not keep."""
    from components.export import conversion  # TensorFlow: only for this case

    pushed = os.path.dirname(recommender.model_path)
    for name in (MODEL_FILE, SIDECAR_FILE):
        shutil.copy(os.path.join(pushed, name), folder)
    saved_model = os.path.join(recommender.sidecar["lineage"]["model_uri"], names.SERVING_MODEL_DIR)
    with open(os.path.join(folder, QUANTIZED_FILE), "wb") as handle:
        handle.write(conversion.convert(saved_model, quantize=True))
    print(f"int8 weights: not pushed, converted here from {saved_model}")
    return folder


def browser_ms(url: str, history: list[int], variants: list[str], calls: int, warmup: int):
    """Per variant, the page's per-call times ({"run": [...], "call": [...]})."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        page.goto(f"{url}?history={','.join(map(str, history))}")
        page.wait_for_function(READY, timeout=60_000)
        results = {
            variant: page.evaluate(
                "([v, n, w]) => window.movieRecs.bench(v, n, w)", [variant, calls, warmup]
            )
            for variant in variants
        }
        version = browser.version
        browser.close()
    return results, version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=paths.OUTPUT_DIR)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    args = parser.parse_args(argv)

    recommender = on_device_model.Recommender(args.model)
    history = [int(m) for m in list(recommender.movies)[: recommender.window]]
    inputs = recommender.features(history)
    inputs[EXCLUDED_MOVIES] = ids.left_padded(history, recommender.excluded_length, np.int32)
    folder = os.path.dirname(recommender.model_path)
    if not os.path.isfile(os.path.join(folder, QUANTIZED_FILE)):
        folder = with_converted_int8(recommender, tempfile.mkdtemp(prefix="bench-demo-"))
    models = {"float": recommender.model_path, "int8": os.path.join(folder, QUANTIZED_FILE)}

    server, _ = demo.start(folder)
    try:
        pages, version = browser_ms(server.url, history, list(models), args.calls, args.warmup)
    finally:
        server.shutdown()
        server.server_close()

    print(f"Model {demo._model_label(recommender.model_path)}, history of {len(history)} movies")
    print(f"Chromium {version}, {args.calls} calls after {args.warmup} warm-up calls each\n")
    print("| model | browser, per click (p50 / p99) | browser, model call only | Python |")
    print("|---|---|---|---|")
    for variant, path in models.items():
        page = pages[variant]
        cells = [
            percentiles(page["call"]),
            percentiles(page["run"]),
            percentiles(python_ms(path, inputs, args.calls, args.warmup)),
        ]
        text = " | ".join(f"{p50:.3f} / {p99:.3f} ms" for p50, p99 in cells)
        size = os.path.getsize(path) / 2**20
        print(f"| {variant} ({size:.2f} MiB) | {text} |")
    isolated = all(page["crossOriginIsolated"] for page in pages.values())
    print(f"\nperformance.now() resolution: {'5 us (isolated)' if isolated else '100 us'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

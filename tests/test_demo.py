"""The in-browser demo, in a real browser (the system Chromium, headless, driven by
Playwright): the page's recommendations must be the Python LiteRT interpreter's for the same
signature and inputs, whatever the history (short, longer than the model's window, with a
movie the model does not know), and the page must stay usable by click and keyboard.

``UPDATE_SCREENSHOT=1`` also copies the page's screenshot to docs/demo.png (the README's).
"""

from __future__ import annotations

import os
import shutil
import socket
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from benchmarks.browser import READY, launch, missing_reason
from commands import demo
from components.export import on_device_model
from components.export.layout import (
    EXCLUDED_MOVIES,
    MODEL_FILE,
    QUANTIZED_FILE,
    RECOMMEND_UNSEEN,
    SIDECAR_FILE,
    TOP_IDS,
    TOP_SCORES,
)
from components.transform import ids
from configs import features as raw
from pipeline import cli_errors, paths

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PAGE_TIMEOUT_MS = 30_000
SCREENSHOT = os.path.join(paths.REPO_ROOT, "docs", "demo.png")
UNKNOWN_MOVIE = 999_999


@pytest.fixture(scope="module")
def recommender(pipeline_run) -> on_device_model.Recommender:
    return on_device_model.Recommender(pipeline_run.output_dir)


@pytest.fixture(scope="module")
def server(pipeline_run):
    try:
        running, _ = demo.start(pipeline_run.output_dir)
    except demo.DemoError as error:
        pytest.fail(f"the demo cannot start: {error}", pytrace=False)
    yield running
    running.shutdown()
    running.server_close()


@pytest.fixture(scope="module")
def browser():
    reason = missing_reason()
    if reason:
        pytest.fail(reason, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
    opened.set_default_timeout(PAGE_TIMEOUT_MS)
    yield opened
    context.close()
    assert not errors, errors


def open_page(page, url: str, history: list[int] | None = None) -> None:
    query = (
        ""
        if history is None
        else "?" + urllib.parse.urlencode({"history": ",".join(map(str, history))})
    )
    page.goto(url + query)
    page.wait_for_function(READY)


def shown(page) -> tuple[list[int], list[float]]:
    """The recommendations the page shows: movie ids and scores, best first."""
    items = page.locator("#recommendations li")
    movie_ids = [int(m) for m in items.evaluate_all("els => els.map(e => e.dataset.movieId)")]
    scores = [float(s) for s in items.evaluate_all("els => els.map(e => e.dataset.score)")]
    return movie_ids, scores


def python_inputs(
    recommender: on_device_model.Recommender,
    history: list[int],
    ratings: list[float] | None = None,
    profile: dict[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """``recommend_unseen``'s inputs as the recommend command builds them, plus the ratings
    and profile values the page's controls add (each its own fixed-length input)."""
    known = [m if str(m) in recommender.movies else ids.UNKNOWN_RAW_ID for m in history]
    features = recommender.features(known[-recommender.window :])
    if ratings is not None:
        spec = recommender.inputs[raw.CONTEXT_MOVIE_RATING]
        features[spec["name"]] = ids.left_padded(
            ratings[-recommender.window :], spec["length"], np.float32
        )
    for name, value in (profile or {}).items():
        features[name] = ids.left_padded([value], recommender.inputs[name]["length"], np.int32)
    features[EXCLUDED_MOVIES] = ids.left_padded(known, recommender.excluded_length, np.int32)
    return features


def python_top(model_path: str, inputs: dict[str, np.ndarray]) -> tuple[list[int], list[float]]:
    runner = Interpreter(model_path=model_path).get_signature_runner(RECOMMEND_UNSEEN)
    output = runner(**inputs)
    return output[TOP_IDS].tolist(), output[TOP_SCORES].tolist()


def assert_page_matches_python(page, recommender, history, **controls) -> list[int]:
    """The page's inputs are the Python ones, its ids the interpreter's, scores within 1e-5."""
    expected_inputs = python_inputs(recommender, history, **controls)
    page_inputs = page.evaluate("window.movieRecs.lastInputs")
    for name, values in expected_inputs.items():
        assert page_inputs[name] == pytest.approx(values.tolist()), name
    expected_ids, expected_scores = python_top(recommender.model_path, expected_inputs)
    shown_ids, shown_scores = shown(page)
    assert shown_ids == expected_ids
    assert shown_scores == pytest.approx(expected_scores, abs=1e-5)
    assert not set(shown_ids) & set(history)
    return shown_ids


def test_page_recommends_what_the_python_interpreter_does(server, page, recommender):
    movies = [int(m) for m in recommender.movies]
    window = recommender.window
    histories = {
        "short": movies[:3],
        "longer than the window": movies[3 : 3 + window + 5],
        "with an unknown movie": [movies[10], UNKNOWN_MOVIE, movies[11]],
    }
    for name, history in histories.items():
        open_page(page, server.url, history)
        shown_ids = assert_page_matches_python(page, recommender, history)
        # The recommend command (the app's reference) agrees, exclusion included.
        reference = recommender.recommend(history, recommender.k, include_seen=False)
        assert shown_ids == reference["movie_ids"], name
        assert float(page.locator("#latency").get_attribute("data-ms")) > 0, name
        assert "ms" in page.locator("#latency").inner_text()
    # The unknown movie is listed as watched, and marked.
    unknown = page.locator(f'#watched li[data-movie-id="{UNKNOWN_MOVIE}"]')
    assert "not in the model's catalogue" in unknown.inner_text()
    # A history longer than the window: every movie listed, the oldest ones marked as unread.
    history = histories["longer than the window"]
    open_page(page, server.url, history)
    assert page.locator("#watched li").count() == window + 5
    assert page.locator('#watched li[data-in-window="false"]').count() == 5
    # The int8 model, when this run pushed it (only if it keeps HR@10 within 1% of float).
    quantized = os.path.join(os.path.dirname(recommender.model_path), QUANTIZED_FILE)
    assert page.locator("#int8").is_visible() == os.path.isfile(quantized)
    if os.path.isfile(quantized):
        page.check("#int8")
        page.wait_for_function("window.movieRecs.lastResult.variant === 'int8'")
        expected_ids, expected_scores = python_top(quantized, python_inputs(recommender, history))
        assert shown(page)[0] == expected_ids
        assert shown(page)[1] == pytest.approx(expected_scores, abs=1e-5)


def test_search_clicks_and_keys_update_the_recommendations(server, page, recommender, tmp_path):
    open_page(page, server.url)
    before, _ = shown(page)
    assert len(before) == recommender.k
    # Click: search the best recommendation by title and add it; it must leave the list.
    first = before[0]
    page.fill("#search", recommender.movies[str(first)]["title"])
    page.locator(f'#search-results button[data-movie-id="{first}"]').click()
    page.wait_for_function(f"!window.movieRecs.lastResult.ids.includes({first})")
    after, _ = shown(page)
    assert after != before and first not in after
    # Keyboard: type a title and press Enter (adds the first match).
    second = next(m for m in map(int, recommender.movies) if m != first)
    page.fill("#search", recommender.movies[str(second)]["title"])
    page.press("#search", "Enter")
    page.wait_for_selector(f'#watched li[data-movie-id="{second}"]')
    page.wait_for_function(f"window.movieRecs.lastInputs.context_movie_id.includes({second})")
    # Controls for the inputs the model has besides ids: stars and the user's profile.
    page.select_option(f'#watched li[data-movie-id="{first}"] select', "4")
    profile = page.locator("#profile select")
    assert profile.count() == 3
    page.select_option("#profile-user_gender", index=1)
    page.wait_for_function("window.movieRecs.lastInputs.user_gender[0] > 0")
    gender = int(page.locator("#profile-user_gender").input_value())
    assert_page_matches_python(
        page, recommender, [first, second], ratings=[4, 0], profile={raw.USER_GENDER: gender}
    )
    # Remove with the keyboard: focus the button, press Enter.
    page.locator(f'#watched li[data-movie-id="{second}"] button.remove').press("Enter")
    page.wait_for_function(f"!window.movieRecs.lastInputs.context_movie_id.includes({second})")
    assert page.locator("#watched li").count() == 1
    assert "history=" + str(first) in page.url
    _screenshots(page, server.url, [*list(map(int, recommender.movies))[20:23], first], tmp_path)


def _screenshots(page, url: str, history: list[int], tmp_path) -> None:
    """Phone-sized: nothing wider than the screen. Desktop: the README's picture."""
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, url, history)
    page.select_option(f'#watched li[data-movie-id="{history[-1]}"] select', "5")
    page.wait_for_function("window.movieRecs.lastInputs.context_movie_rating.at(-1) === 5")
    page.fill("#search", "the")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1200, "height": 1000})
    path = tmp_path / "demo.png"
    page.screenshot(path=str(path))
    assert path.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(path, SCREENSHOT)


def test_int8_toggle_switches_the_model_file(browser, recommender, tmp_path):
    """The toggle loads the pushed int8 file. Whether the shared run pushes one depends on
    its HR@10, so a copy of the float file stands in for it here: what is tested is the
    switch, every time."""
    folder = tmp_path / "pushed"
    folder.mkdir()
    for name in (MODEL_FILE, SIDECAR_FILE):
        shutil.copy(os.path.join(os.path.dirname(recommender.model_path), name), folder)
    shutil.copy(folder / MODEL_FILE, folder / QUANTIZED_FILE)
    running, _ = demo.start(str(folder))
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        open_page(page, running.url, [int(m) for m in list(recommender.movies)[:3]])
        before, _ = shown(page)
        page.check("#int8")
        page.wait_for_function("window.movieRecs.lastResult.variant === 'int8'")
        assert "int8 model" in page.locator("#latency").inner_text()
        assert shown(page)[0] == before
        # Model URLs name their version (?version=...): a page never mixes two versions.
        assert running.url + f"model/{QUANTIZED_FILE}" in [u.split("?")[0] for u in requested]
        # No request left this server (the page's icon is an inline data: URL).
        assert all(url.startswith((running.url, "data:")) for url in requested), requested
    finally:
        page.close()
        running.shutdown()
        running.server_close()


def test_demo_command_says_what_is_wrong_in_one_line(pipeline_run, tmp_path, capsys):
    assert demo.main(["--model", str(tmp_path)]) == cli_errors.EXIT_ERROR
    assert "No pushed model" in capsys.readouterr().err
    pushed = os.path.dirname(on_device_model.find_model(pipeline_run.output_dir))
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    shutil.copy(os.path.join(pushed, SIDECAR_FILE), damaged)
    data = Path(pushed, MODEL_FILE).read_bytes()
    (damaged / MODEL_FILE).write_bytes(data[: len(data) // 2])
    assert demo.main(["--model", str(damaged)]) == cli_errors.EXIT_ERROR
    assert "is damaged" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind((demo.HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = demo.main(["--model", pipeline_run.output_dir, "--port", str(port)])
    assert code == cli_errors.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("error: port") and len(err.strip().splitlines()) == 1
    with pytest.raises(demo.DemoError, match="make demo"):
        demo.check_runtime(str(tmp_path))

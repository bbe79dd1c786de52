"""deltaprop playground: state, CSV upload, server safety, model download, and the page in a
real browser (Playwright driving the system's headless Chromium).

The browser tests skip when Playwright or /usr/bin/chromium is missing, except under CI=true,
where they fail instead (CI must run them).
"""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import threading
import time
from contextlib import contextmanager, redirect_stdout
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.data.features import FeatureMap
from deltaprop.data.pipeline import ModelInfo
from deltaprop.data.preprocessing import transformer_from_state
from deltaprop.errors import InputError
from deltaprop.playground import PlaygroundState
from deltaprop.playground.server import PlaygroundServer
from deltaprop.playground.session import Session
from deltaprop.playground.state import choices
from deltaprop.playground.upload import parse_csv

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# ---------------------------------------------------------------------- state and data
def test_state_round_trips_through_the_url_query():
    state = PlaygroundState(dataset="spiral3", features=("sinx1", "x1", "x2"), layers=(6, 5),
                            activation="relu", optimizer="adam", learning_rate=0.01,
                            schedule="exponential:gamma=0.99", batch="full", l2=0.001,
                            dropout=0.1, max_norm=3.0, seed=7)
    query = state.to_query()
    assert query["features"] == "x1,x2,sinx1" and query["layers"] == "6,5"
    assert PlaygroundState.from_query(query) == state
    assert PlaygroundState.from_query({k: [v] for k, v in query.items()}) == state


@pytest.mark.parametrize("query, message", [
    ({"layers": "4,x"}, "hidden layer size"),
    ({"activation": "swish"}, "unknown activation"),
    ({"learning_rate": "-1"}, "learning_rate"),
    ({"features": "x3"}, "unknown input feature"),
    ({"schedule": "exponential:gamma=7"}, "gamma"),
    ({"colour": "red"}, "unknown setting"),
    ({"layers": ",".join(["2"] * 40)}, "at most"),
])
def test_bad_state_values_are_input_errors(query, message):
    with pytest.raises(InputError, match=message):
        PlaygroundState.from_query(query)


def test_menus_come_from_deltaprops_registries():
    menus = choices()
    assert set(dp.activations.names()) <= set(menus["activation"])
    assert set(dp.losses.names()) <= set(menus["loss"])
    assert set(dp.init.names()) <= set(menus["init"])
    assert {"sgd", "momentum", "nesterov", "adam"} == set(menus["optimizer"])


def test_feature_map_is_a_stored_preprocessing_step():
    fm = FeatureMap(["x1", "x2sq", "x1x2", "sinx1"])
    X = np.array([[1.0, 2.0], [-0.5, 3.0]])
    again = transformer_from_state(*fm.get_state())
    np.testing.assert_allclose(again.transform(X), [[1, 4, 2, np.sin(1)],
                                                    [-0.5, 9, -1.5, np.sin(-0.5)]])


@pytest.mark.parametrize("text, message", [
    (b"x1,x2,y\n0,0,0\n1,oops,1\n", "line 3: x2 = 'oops' is not a finite number"),
    (b"x1,x2,y\n0,0\n", "line 2: 2 fields, expected 3"),
    (b"x1,x2,y\n0,0,1\n1,1,1\n", "one class only"),
    (b"x1,x2,y\n", "no data rows"),
    (b"\xff\xfe\x00binary", "not UTF-8"),
    (b"x1,x2,y\n0,0,1\n1,1,cat\n", "mixes numbers"),
])
def test_bad_csv_files_get_clear_messages(text, message):
    with pytest.raises(InputError, match=message):
        parse_csv(text)


def test_csv_targets_decide_the_task():
    X, y, names = parse_csv(b"0,0,0\n1,1,2\n0,1,2\n")
    assert names == ["0", "2"] and y.tolist() == [0, 1, 1] and X.shape == (3, 2)
    _, y, names = parse_csv(b"a,b,t\n0,0,0.5\n1,1,2.25\n")
    assert names is None and y.tolist() == [0.5, 2.25]


def test_session_trains_every_option_on_deltaprops_engine():
    s = Session(PlaygroundState(dataset="bumps", activation="maxout", dropout=0.1, max_norm=2,
                                l1=1e-4, l2=1e-4, optimizer="nesterov", batch="1",
                                learning_rate=0.005, schedule="step:drop=0.5,every=2",
                                layers=(5, 3)))
    first = s.frame()
    for _ in range(4):
        s.train(1)
    frame = s.frame()
    assert frame["epoch"] == 4 and s.error is None
    assert frame["test_loss"] < first["test_loss"]
    assert frame["learning_rate"] == pytest.approx(0.005 * 0.5)  # epoch 4: 3 done, one drop
    assert len(frame["grad_norms"]) == 3 and len(frame["maps"]) == 2


def test_probe_shows_one_pass_and_applies_its_update():
    s = Session(PlaygroundState(layers=(3,), seed=1))
    W0 = s.network.layers[0].W.copy()
    result = s.probe(0.0, 0.0)
    assert [len(layer["a"]) for layer in result["layers"]] == [3, 2]
    assert "Backward pass" in result["text"] and result["loss_after"] < result["loss"]
    step = np.asarray(result["layers"][0]["W_new"]) - W0
    np.testing.assert_allclose(step, -0.03 * np.asarray(result["layers"][0]["grad_W"]),
                               atol=1e-5)
    np.testing.assert_allclose(s.network.layers[0].W, result["layers"][0]["W_new"], atol=1e-6)


# ------------------------------------------------------------------------------ server
@contextmanager
def running_server(**kwargs):
    server = PlaygroundServer("127.0.0.1", 0, **kwargs)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(5)


@pytest.fixture(scope="module")
def server():
    with running_server() as srv:
        yield srv


def request(server, method, path, body=None, headers=None):
    """(status, headers, body bytes); JSON bodies for dicts."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        hdrs = {"Host": f"127.0.0.1:{server.port}", **(headers or {})}
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def new_session(server, **state):
    status, _, body = request(server, "POST", "/api/session", {"state": state})
    assert status == 200, body
    return json.loads(body)["session"]


@pytest.mark.parametrize("headers", [
    {"Host": "evil.example:1234"},
    {"Host": "attacker.test"},
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
])
def test_foreign_host_or_origin_is_refused(server, headers):
    if "Host" in headers:
        headers = {"Host": headers["Host"].replace("1234", str(server.port))}
    status, _, body = request(server, "GET", "/api/options", headers=headers)
    assert status == 403 and "error" in json.loads(body)


def test_own_host_names_are_served(server):
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        status, hdrs, body = request(server, "GET", "/", headers={"Host": host})
        assert status == 200 and b"deltaprop playground" in body
        assert hdrs["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/static/../server.py", "/static/%2e%2e/server.py",
                                  "/../../etc/passwd", "/static/state.py"])
def test_client_paths_never_reach_the_file_system(server, path):
    status, _, body = request(server, "GET", path)
    assert status == 404 and b"Traceback" not in body


def test_bad_requests_get_json_errors_and_the_session_goes_on(server):
    key = new_session(server)
    cases = [
        (dict(body=b"{", headers={"Content-Type": "application/json"}), 400, "not valid JSON"),
        (dict(body=b"x", headers={"Content-Type": "text/plain"}), 415, "Content-Type"),
        (dict(body={"session": key, "action": "explode"}), 400, "unknown action"),
        (dict(body={"session": "nope", "action": "step"}), 404, "unknown or expired"),
        (dict(body=b"x" * 100_000, headers={"Content-Type": "application/json"}), 413,
         "limit"),
    ]
    for kwargs, status, message in cases:
        got, _, body = request(server, "POST", "/api/control", **kwargs)
        assert got == status and message in json.loads(body)["error"]
    status, _, body = request(server, "POST", "/api/state",
                              {"session": key, "state": {"layers": "4,-1"}})
    assert status == 400 and "hidden layer size" in json.loads(body)["error"]
    status, _, body = request(server, "POST", "/api/state",
                              {"session": key, "state": {"loss": "binary_cross_entropy",
                                                         "output": "identity"}})
    assert status == 400 and "binary_cross_entropy" in json.loads(body)["error"]
    status, _, body = request(server, "POST", "/api/control", {"session": key, "action": "step"})
    assert status == 200 and json.loads(body)["epoch"] == 1


def test_bad_csv_upload_is_a_clear_message(server):
    key = new_session(server)
    status, _, body = request(server, "POST", f"/api/upload?session={key}",
                              body=b"x1,x2,label\n0,0,0\n1,abc,1\n",
                              headers={"Content-Type": "text/csv"})
    assert status == 400
    assert json.loads(body)["error"] == "line 3: x2 = 'abc' is not a finite number"
    rows = "\n".join(f"{i % 7},{i % 5},{i % 2}" for i in range(40))
    status, _, body = request(server, "POST", f"/api/upload?session={key}",
                              body=f"a,b,c\n{rows}\n".encode(),
                              headers={"Content-Type": "text/csv"})
    assert status == 200 and json.loads(body)["state"]["dataset"] == "csv"


def test_event_stream_sends_layout_then_frames(server):
    key = new_session(server, layers="3")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", f"/api/events?session={key}",
                     headers={"Host": f"127.0.0.1:{server.port}"})
        resp = conn.getresponse()
        assert resp.getheader("Content-Type") == "text/event-stream"
        messages = []
        while len(messages) < 2:
            line = resp.fp.readline()
            if line.startswith(b"data: "):
                messages.append(json.loads(line[6:]))
        assert [m["type"] for m in messages] == ["layout", "frame"]
        assert messages[0]["state"]["layers"] == "3" and messages[1]["epoch"] == 0
    finally:
        conn.close()


def test_request_rates_are_capped():
    with running_server() as srv:
        statuses = [request(srv, "POST", "/api/session", {"state": {}})[0] for _ in range(14)]
    assert statuses[0] == 200 and statuses[-1] == 429


def test_downloaded_model_loads_and_predicts_like_the_page(server, tmp_path):
    key = new_session(server, dataset="blobs", features="x1,x2,x1sq,sinx2", layers="5",
                      optimizer="adam", learning_rate="0.02")
    for _ in range(5):
        request(server, "POST", "/api/control", {"session": key, "action": "step"})
    status, hdrs, body = request(server, "GET", f"/api/model.npz?session={key}")
    assert status == 200 and "model.npz" in hdrs["Content-Disposition"]
    path = tmp_path / "model.npz"
    path.write_bytes(body)
    net = dp.load(path)
    info = ModelInfo.from_network(net, str(path))
    points = [[0.1, 2.0], [-1.5, -1.0], [2.0, -0.5], [0.0, 0.0]]
    page = json.loads(request(server, "POST", "/api/predict",
                              {"session": key, "points": points})[2])["outputs"]
    mine = net.forward(info.transform(np.array(points), "points"))
    np.testing.assert_allclose(mine, page, atol=1e-5)
    # the CLI takes the two raw coordinates
    csv_in = tmp_path / "points.csv"
    csv_in.write_text("x1,x2\n" + "\n".join(f"{a},{b}" for a, b in points) + "\n")
    from deltaprop.cli.main import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["predict", str(path), str(csv_in)]) == 0
    predicted = out.getvalue().split()[1:]
    assert predicted == [info.class_names[i] for i in np.argmax(page, axis=1)]


def test_cli_has_the_playground_command():
    from deltaprop.cli.main import build_parser

    args = build_parser().parse_args(["playground", "--no-browser", "--port", "0"])
    assert args.no_browser and args.port == 0 and args.host == "127.0.0.1"


# ------------------------------------------------------------------------------ browser
def _need_browser():
    """Playwright's sync API, or a skip (a failure under CI=true) saying what is missing."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing, sync_playwright = "the Python package playwright is not installed", None
    if missing is None and not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _need_browser()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    pg.base = server.url
    try:
        yield pg
    finally:
        context.close()


def _until(page, expression, timeout=30_000):
    """Poll a JavaScript expression until it is true (Playwright's wait_for_function would
    evaluate it with eval, which the page's Content-Security-Policy forbids)."""
    end = time.monotonic() + timeout / 1000
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)


def _open(page, query=""):
    page.goto(page.base + query)
    _until(page, "window.playground && window.playground.frames > 0")


def _number(page, testid):
    return float(page.get_by_test_id(testid).text_content())


def _query(page):
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


@pytest.mark.slow
def test_page_loads_and_play_trains(page):
    _open(page, "?dataset=circle&learning_rate=0.1&seed=3")
    assert page.get_by_test_id("epoch").text_content() == "0"
    loss0, heat0 = _number(page, "test-loss"), page.get_by_test_id("heatmap").evaluate(
        "c => c.toDataURL()")
    page.get_by_test_id("play").click()
    _until(page, "Number(document.querySelector('[data-testid=epoch]').textContent)"
                           " >= 150", timeout=60_000)
    page.get_by_test_id("play").click()
    assert _number(page, "test-loss") < 0.7 * loss0
    assert _number(page, "train-loss") != loss0
    assert page.get_by_test_id("heatmap").evaluate("c => c.toDataURL()") != heat0
    epoch = int(page.get_by_test_id("epoch").text_content())
    page.get_by_test_id("step").click()
    _until(page, f"document.querySelector('[data-testid=epoch]').textContent"
                           f" === '{epoch + 1}'")
    page.get_by_test_id("reset").click()
    _until(page, "document.querySelector('[data-testid=epoch]').textContent === '0'")
    assert page.console_errors == []


@pytest.mark.slow
def test_switching_dataset_activation_and_layers(page):
    _open(page)
    page.get_by_test_id("dataset").select_option("xor")
    page.wait_for_selector("body[data-dataset=xor]")
    page.get_by_test_id("activation").select_option("relu")
    _until(page, "location.search.includes('activation=relu')")
    page.get_by_test_id("add-layer").click()
    _until(page, "location.search.includes('layers=4%2C2%2C2')")
    assert page.locator(".column").count() == 1 + 3 + 1
    page.get_by_test_id("layers").fill("8,8,8,8,8,8")
    page.get_by_test_id("layers").dispatch_event("change")
    _until(page, "document.querySelectorAll('.column').length === 8")
    page.get_by_test_id("dataset").select_option("spiral3")
    page.wait_for_selector("body[data-dataset=spiral3]")
    page.get_by_test_id("feature-x1sq").click()
    _until(page, "location.search.includes('features=x1%2Cx2%2Cx1sq')")
    q = _query(page)
    assert (q["dataset"], q["activation"], q["layers"]) == ("spiral3", "relu", "8,8,8,8,8,8")
    page.get_by_test_id("play").click()
    _until(page, "Number(document.querySelector('[data-testid=epoch]').textContent)"
                           " >= 5")
    page.get_by_test_id("play").click()
    assert page.console_errors == []


@pytest.mark.slow
def test_bad_csv_shows_the_error(page):
    _open(page)
    page.get_by_test_id("upload").set_input_files(
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": b"x1,x2,y\n0,0,0\n1,x,1\n"})
    error = page.get_by_test_id("error")
    error.wait_for(state="visible")
    assert "line 3: x2 = 'x' is not a finite number" in error.text_content()
    rows = "\n".join(f"{np.cos(i)},{np.sin(i)},{i % 2}" for i in range(60))
    page.get_by_test_id("upload").set_input_files(
        {"name": "good.csv", "mimeType": "text/csv", "buffer": f"a,b,c\n{rows}\n".encode()})
    page.wait_for_selector("body[data-dataset=csv]")
    assert error.is_hidden()
    assert [e for e in page.console_errors if "400" not in e] == []


@pytest.mark.slow
def test_url_round_trips_the_state(page):
    _open(page, "?dataset=spiral3&layers=6,5&activation=relu&learning_rate=0.01&seed=7"
                "&features=x1,x2,sinx1&optimizer=adam&batch=full")
    q = _query(page)
    assert PlaygroundState.from_query(q) == PlaygroundState(
        dataset="spiral3", layers=(6, 5), activation="relu", learning_rate=0.01, seed=7,
        features=("x1", "x2", "sinx1"), optimizer="adam", batch="full")
    assert page.get_by_test_id("dataset").input_value() == "spiral3"
    assert page.get_by_test_id("activation").input_value() == "relu"
    assert page.get_by_test_id("layers").input_value() == "6,5"
    assert "off" not in page.get_by_test_id("feature-sinx1").get_attribute("class")
    page.get_by_test_id("step").click()
    _until(page, "document.querySelector('[data-testid=epoch]').textContent === '1'")
    loss = page.get_by_test_id("train-loss").text_content()
    page.reload()
    _until(page, "window.playground && window.playground.frames > 0")
    assert _query(page) == q
    page.get_by_test_id("step").click()
    _until(page, "document.querySelector('[data-testid=epoch]').textContent === '1'")
    assert page.get_by_test_id("train-loss").text_content() == loss  # same seed, same run
    assert page.console_errors == []


@pytest.mark.slow
def test_downloaded_model_predicts_like_the_page(page, tmp_path):
    _open(page, "?dataset=gauss&features=x1,x2,x1x2&layers=3&seed=2")
    page.get_by_test_id("play").click()
    _until(page, "Number(document.querySelector('[data-testid=epoch]').textContent)"
                           " >= 20")
    page.get_by_test_id("play").click()
    _until(page, "!window.playground.playing")
    with page.expect_download() as download:
        page.get_by_test_id("download").click()
    path = tmp_path / "model.npz"
    download.value.save_as(path)
    net = dp.load(path)
    info = ModelInfo.from_network(net, str(path))
    page.get_by_test_id("points").click(position={"x": 100, "y": 120})
    page.get_by_test_id("probe").wait_for(state="visible")
    shown = json.loads(page.get_by_test_id("probe-output").text_content())
    mine = net.forward(info.transform(np.array([shown["point"]]), "page"))[0]
    np.testing.assert_allclose(mine, shown["output"], atol=1e-4)
    assert "Forward pass" in page.locator("#probe-text").text_content()
    assert page.console_errors == []


@pytest.mark.slow
def test_updates_arrive_fast_enough(page):
    _open(page, "?layers=8,8,8,8,8,8")
    page.get_by_test_id("play").click()
    _until(page, "window.playground.frames > 30")
    n0, t0 = page.evaluate("window.playground.frames"), time.monotonic()
    time.sleep(2.0)
    rate = (page.evaluate("window.playground.frames") - n0) / (time.monotonic() - t0)
    page.get_by_test_id("play").click()
    assert rate > 10  # 60 on an idle machine (docs/playground.md); shared CI cores are slower


def test_the_command_serves_until_interrupted():
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "deltaprop", "playground", "--no-browser",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("deltaprop playground: http://127.0.0.1:")
        url = urlsplit(line.split()[2])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            conn.request("GET", "/api/options")
            resp = conn.getresponse()
            assert resp.status == 200 and "activation" in json.loads(resp.read())["choices"]
        finally:
            conn.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

"""The playground's web server: Python's standard library only, events as Server-Sent Events.

:class:`PlaygroundServer` is a :class:`http.server.ThreadingHTTPServer`: one thread per
request, no dependency beyond the standard library. The page opens one event stream
(``GET /api/events``, ``text/event-stream``); the thread serving it trains the page's
:class:`~deltaprop.playground.session.Session` while "play" is on and sends a frame after each
step, at most :data:`MAX_FPS` per second, so a closed page stops its training. Every other
request is a short JSON call.

Routes::

    GET  /                       the page (static/index.html)
    GET  /static/app.js|style.css
    GET  /api/options            menus from deltaprop's registries, default state
    POST /api/session            {"state": {...}} -> {"session": id, "state": {...}}
    POST /api/state              {"session", "state"}: a new run
    POST /api/control            {"session", "action": play|pause|step|reset}
    POST /api/probe              {"session", "x1", "x2"}: one pass for the nearest point
    POST /api/predict            {"session", "points": [[x1, x2], ...]}
    POST /api/upload?session=ID  body: the CSV file (text/csv)
    GET  /api/model.npz?session=ID
    GET  /api/events?session=ID  the event stream

Safety: the server answers only requests whose ``Host`` (and ``Origin``, when sent) name the
server itself (:class:`~deltaprop.playground.hostcheck.HostPolicy`, against DNS rebinding);
POST bodies must be JSON or CSV with a Content-Length within a cap (so a cross-site form cannot
post, and a browser must ask first with a preflight the server never grants); requests are
rate-limited per client; static files come from a fixed table, never from a client's path; an
error is a JSON message (never a traceback) and never stops a session.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
import traceback
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from deltaprop.errors import DeltapropError, InputError
from deltaprop.playground.hostcheck import HostPolicy
from deltaprop.playground.ratelimit import RateLimiter
from deltaprop.playground.session import Session
from deltaprop.playground.state import PlaygroundState, choices
from deltaprop.playground.store import SessionStore
from deltaprop.playground.upload import MAX_BYTES, parse_csv

__all__ = ["PlaygroundServer", "PlaygroundHandler", "serve", "MAX_FPS"]

#: Most frames per second one event stream sends.
MAX_FPS = 60
MAX_JSON_BYTES = 64 * 1024
MAX_STREAMS = 16
MAX_PREDICT_POINTS = 10_000
_STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
           "/index.html": ("index.html", "text/html; charset=utf-8"),
           "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
           "/static/style.css": ("style.css", "text/css; charset=utf-8")}
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
}


class HttpError(Exception):
    """A request the server refuses: an HTTP status and a message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _finite_json(payload: Any) -> bytes:
    """JSON text of ``payload`` with NaN and infinities as null (JSON has neither)."""
    try:
        return json.dumps(payload, allow_nan=False).encode()
    except ValueError:
        return json.dumps(_clean(payload), allow_nan=False).encode()


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _static(name: str) -> bytes:
    return resources.files("deltaprop.playground").joinpath("static", name).read_bytes()


class PlaygroundServer(ThreadingHTTPServer):
    """The playground's HTTP server (bind with port 0 for a free port; see :attr:`url`)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str = "127.0.0.1", port: int = 8000, *, quiet: bool = True,
                 max_sessions: int = 16) -> None:
        super().__init__((host, port), PlaygroundHandler)
        self.host = host
        self.policy = HostPolicy(host, self.server_address[1])
        self.sessions = SessionStore(max_sessions)
        self.requests = RateLimiter(rate=100.0, burst=300)
        self.heavy = RateLimiter(rate=2.0, burst=10)  # new sessions, uploads, downloads
        self.streams = threading.BoundedSemaphore(MAX_STREAMS)
        self.stopping = threading.Event()
        self.quiet = quiet

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/"

    def stop(self) -> None:
        """Stop serving: ends the event streams, then the accept loop, then the socket."""
        self.stopping.set()
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return  # the page went away
        print("deltaprop playground: error while serving a request:", file=sys.stderr)
        traceback.print_exc()


class PlaygroundHandler(BaseHTTPRequestHandler):
    """Routes one request; see the module docstring for the routes."""

    server: PlaygroundServer
    protocol_version = "HTTP/1.1"
    server_version = "deltaprop-playground"
    sys_version = ""
    error_content_type = "application/json"
    timeout = 60

    # -- plumbing --------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """Errors from the request parser, as JSON like every other error."""
        self.close_connection = True
        try:
            self._send_json({"error": message or HTTPStatus(code).phrase}, code)
        except (ConnectionError, TimeoutError, ValueError):
            pass

    def _send(self, body: bytes, content_type: str, status: int = 200,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in {**_SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, payload: Any, status: int = 200,
                   headers: dict[str, str] | None = None) -> None:
        self._send(_finite_json(payload), "application/json", status, headers)

    def _query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query, max_num_fields=64)

    def _check(self, heavy: bool = False) -> None:
        """Host/Origin policy and rate limits; raises HttpError."""
        if not self.server.policy.host_ok(self.headers.get("Host")):
            raise HttpError(403, "the Host header names another site; this server answers "
                                 "only requests addressed to itself (localhost:"
                                 f"{self.server.policy.port})")
        if not self.server.policy.origin_ok(self.headers.get("Origin")):
            raise HttpError(403, "requests from other sites are refused (Origin header)")
        client = self.client_address[0]
        if not self.server.requests.allow(client) or (heavy and
                                                      not self.server.heavy.allow(client)):
            raise HttpError(429, "too many requests; slow down")

    def _body(self, kinds: tuple[str, ...], limit: int) -> bytes:
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind not in kinds:
            raise HttpError(415, f"expected Content-Type {' or '.join(kinds)}, got "
                                 f"{kind or 'none'}")
        if self.headers.get("Transfer-Encoding"):
            raise HttpError(411, "send the body with a Content-Length")
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.strip().isdigit():
            raise HttpError(411, "send the body with a Content-Length")
        length = int(length_text)
        if length > limit:
            self.close_connection = True
            raise HttpError(413, f"the request body has {length:,} bytes; the limit is "
                                 f"{limit:,}")
        data = self.rfile.read(length)
        if len(data) != length:
            raise HttpError(400, "the request body ended early")
        return data

    def _json(self) -> dict[str, Any]:
        data = self._body(("application/json",), MAX_JSON_BYTES)
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise HttpError(400, "the request body is not valid JSON") from None
        if not isinstance(value, dict):
            raise HttpError(400, "the request body must be a JSON object")
        return value

    def _session(self, key: Any) -> Session:
        session = self.server.sessions.get(key)
        if session is None:
            raise HttpError(404, "unknown or expired session; reload the page")
        session.last_used = time.monotonic()
        return session

    def _dispatch(self, method: str) -> None:
        try:
            path = urlsplit(self.path).path
            route = _GET_ROUTES if method == "GET" else _POST_ROUTES
            handler = route.get(path)
            if handler is None:
                self._check()
                if method == "POST" and path in _GET_ROUTES or method == "GET" and (
                        path in _POST_ROUTES):
                    raise HttpError(405, f"{path} does not take {method}")
                raise HttpError(404, f"no such page: {path[:100]}")
            handler(self)
        except HttpError as exc:
            self.close_connection = True  # the request's body may be left unread
            self._send_json({"error": str(exc)}, exc.status)
        except DeltapropError as exc:
            self.close_connection = True
            self._send_json({"error": str(exc)}, 400)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            print(f"deltaprop playground: internal error on {method} {self.path[:200]}:",
                  file=sys.stderr)
            traceback.print_exc()
            self.close_connection = True
            self._send_json({"error": "internal error in the playground server (the details "
                                      "are in its terminal); the session goes on"}, 500)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self.send_error(405, "method not allowed")

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    # -- GET routes ------------------------------------------------------------------------
    def page(self) -> None:
        self._check()
        name, kind = _STATIC[urlsplit(self.path).path]
        self._send(_static(name), kind)

    def favicon(self) -> None:
        self._check()
        self._send(b"", "image/x-icon", 204)

    def options(self) -> None:
        self._check()
        self._send_json({"choices": choices(), "defaults": PlaygroundState().to_query(),
                         "max_fps": MAX_FPS})

    def model(self) -> None:
        self._check(heavy=True)
        session = self._session(self._query().get("session", [None])[0])
        body = session.model_file()
        self._send(body, "application/octet-stream", headers={
            "Content-Disposition": 'attachment; filename="model.npz"'})

    def events(self) -> None:
        self._check()
        session = self._session(self._query().get("session", [None])[0])
        if not self.server.streams.acquire(blocking=False):
            raise HttpError(503, f"at most {MAX_STREAMS} pages can stream at once")
        try:
            self._stream(session)
        finally:
            self.server.streams.release()

    def _stream(self, session: Session) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        for key, value in _SECURITY_HEADERS.items():
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        with session.lock:
            session.streams += 1
            token = session.streams  # a newer stream of the same session replaces this one
        layout_seen, frame_seen, last_write = -1, -1, time.monotonic()
        period = 1.0 / MAX_FPS
        stopping = self.server.stopping

        def current() -> bool:
            return session.streams == token and not stopping.is_set()

        while current():
            start = time.monotonic()
            if session.playing:
                session.train(session.state.speed, while_playing=True)
            messages = []
            with session.lock:
                if session.layout_version != layout_seen:
                    messages.append(session.layout())
                    layout_seen, frame_seen = session.layout_version, -1
                if session.frame_version != frame_seen:
                    messages.append(session.frame())
                    frame_seen = session.frame_version
            if messages:
                data = b"".join(b"data: " + _finite_json(m) + b"\n\n" for m in messages)
                self.wfile.write(data)
                self.wfile.flush()
                last_write = time.monotonic()
            elif time.monotonic() - last_write > 10.0:
                self.wfile.write(b": keep-alive\n\n")  # finds closed pages
                self.wfile.flush()
                last_write = time.monotonic()
            if session.playing:
                rest = period - (time.monotonic() - start)
                if rest > 0:
                    stopping.wait(rest)
            else:
                seen = (frame_seen, layout_seen)
                with session.changed:
                    session.changed.wait_for(
                        lambda seen=seen: session.playing or not current()
                        or (session.frame_version, session.layout_version) != seen,
                        timeout=0.25)

    # -- POST routes -----------------------------------------------------------------------
    def new_session(self) -> None:
        self._check(heavy=True)
        body = self._json()
        state = PlaygroundState.from_query(_state_values(body.get("state", {})))
        if state.dataset == "csv":
            state = state.updated(dataset="circle")  # the rows come with an upload
        key = self.server.sessions.add(Session(state))
        self._send_json({"session": key, "state": state.to_query()})

    def set_state(self) -> None:
        self._check()
        body = self._json()
        session = self._session(body.get("session"))
        state = PlaygroundState.from_query(_state_values(body.get("state", {})))
        session.configure(state)
        self._send_json({"state": state.to_query()})

    def control(self) -> None:
        self._check()
        body = self._json()
        session = self._session(body.get("session"))
        action = body.get("action")
        if action == "play":
            session.set_playing(True)
        elif action == "pause":
            session.set_playing(False)
        elif action == "step":
            session.set_playing(False)
            session.train(1)
        elif action == "reset":
            session.reset()
        else:
            raise HttpError(400, f"unknown action {str(action)[:40]!r}; use play, pause, step "
                                 "or reset")
        self._send_json({"playing": session.playing, "epoch": session.epoch,
                         "error": session.error})

    def probe(self) -> None:
        self._check()
        body = self._json()
        session = self._session(body.get("session"))
        try:
            x1, x2 = float(body.get("x1")), float(body.get("x2"))
        except (TypeError, ValueError):
            raise HttpError(400, "probe needs numbers x1 and x2") from None
        self._send_json(session.probe(x1, x2))

    def predict(self) -> None:
        self._check()
        body = self._json()
        session = self._session(body.get("session"))
        try:
            X = np.asarray(body.get("points"), dtype=np.float64)
        except (TypeError, ValueError):
            raise HttpError(400, "points must be a list of [x1, x2] pairs") from None
        if X.ndim != 2 or X.shape[1] != 2 or not len(X) or len(X) > MAX_PREDICT_POINTS:
            raise HttpError(400, f"points must be 1 to {MAX_PREDICT_POINTS} pairs [x1, x2]")
        if not np.isfinite(X).all():
            raise HttpError(400, "points must be finite numbers")
        out = session.predict(X)
        self._send_json({"outputs": np.round(np.asarray(out, np.float64), 7).tolist()})

    def upload(self) -> None:
        self._check(heavy=True)
        session = self._session(self._query().get("session", [None])[0])
        data = self._body(("text/csv", "text/plain", "application/octet-stream"), MAX_BYTES)
        upload = parse_csv(data)
        state = session.state.updated(dataset="csv")
        session.configure(state, upload=upload)
        task = "regression" if upload[2] is None else f"{len(upload[2])} classes"
        self._send_json({"state": state.to_query(), "rows": len(upload[0]), "task": task})


def _state_values(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HttpError(400, "state must be a JSON object of settings")
    if len(value) > 64:
        raise HttpError(400, "too many settings")
    out = {}
    for key, item in value.items():
        if not isinstance(item, str | int | float | list) or isinstance(item, bool):
            raise InputError(f"setting {str(key)[:40]!r} must be a string or a number")
        if len(str(item)) > 2000:
            raise InputError(f"setting {str(key)[:40]!r} is too long")
        out[str(key)] = item
    return out


_GET_ROUTES = {
    "/": PlaygroundHandler.page, "/index.html": PlaygroundHandler.page,
    "/static/app.js": PlaygroundHandler.page, "/static/style.css": PlaygroundHandler.page,
    "/favicon.ico": PlaygroundHandler.favicon, "/api/options": PlaygroundHandler.options,
    "/api/model.npz": PlaygroundHandler.model, "/api/events": PlaygroundHandler.events,
}
_POST_ROUTES = {
    "/api/session": PlaygroundHandler.new_session, "/api/state": PlaygroundHandler.set_state,
    "/api/control": PlaygroundHandler.control, "/api/probe": PlaygroundHandler.probe,
    "/api/predict": PlaygroundHandler.predict, "/api/upload": PlaygroundHandler.upload,
}


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True,
          quiet: bool = True) -> None:
    """Serve until Ctrl-C: prints the page's address and opens it unless ``open_browser``
    is False."""
    try:
        server = PlaygroundServer(host, port, quiet=quiet)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    print(f"deltaprop playground: {server.url}  (Ctrl-C stops it)", flush=True)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        print("deltaprop playground: stopped", file=sys.stderr)
    finally:
        server.stop()

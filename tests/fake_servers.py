"""HTTP servers on loopback that behave like the datasets' hosts (for tests only).

``ArchiveServer`` serves files from a folder with or without range support (suffix ranges
``bytes=-N`` included) and counts the bytes it sent. To test a client's patience it can drop
the connection once per file part-way through a response (``drop_after``), hang up at a given
total of bytes and go away for a few seconds (``outage_at``, ``outage_s``: connections are
refused, then it listens on the same port again), answer chosen requests with 503 and
``Retry-After`` (``busy``), or stall at a given total until released (``stall_at``, for a
client killed mid-download). Every loop and wait is bounded.
``CityscapesServer`` mimics cityscapes-dataset.com's login, package list, MD5 and
file-handling endpoints. Both stop when the test's fixture ends.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class ArchiveServer:
    def __init__(self, root: Path, *, ranges: bool = True, drop_after: int | None = None,
                 outage_at: int | None = None, outage_s: float = 0.0, busy: tuple[int, ...] = (),
                 retry_after: int = 1, stall_at: int | None = None):
        self.root, self.ranges, self.drop_after = Path(root), ranges, drop_after
        self.outage_at, self.outage_s, self.busy, self.retry_after = outage_at, outage_s, set(busy), retry_after
        self.stall_at, self.released = stall_at, threading.Event()
        self.bytes_sent, self.dropped, self.requests, self.request_times = 0, set(), [], []
        self.outages: list[tuple[float, float]] = []  # (down since, back at), monotonic seconds
        self._lock, self._closed, self._outage_thread = threading.Lock(), False, None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                path = server.root / urlparse(self.path).path.lstrip("/")
                with server._lock:
                    server.requests.append((self.path, self.headers.get("Range")))
                    server.request_times.append(time.monotonic())
                    number = len(server.requests)
                if number in server.busy:
                    self.send_response(503)
                    self.send_header("Retry-After", str(server.retry_after))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                rng = self.headers.get("Range") or ""
                match = re.match(r"bytes=(\d+)-(\d*)$", rng)
                suffix = re.match(r"bytes=-(\d+)$", rng)
                if server.ranges and (match or suffix):
                    if suffix:
                        first, last = max(0, len(data) - int(suffix.group(1))), len(data) - 1
                    else:
                        first = int(match.group(1))
                        last = int(match.group(2)) if match.group(2) else len(data) - 1
                    last = min(last, len(data) - 1)
                    if first >= len(data):
                        self.send_response(416)
                        self.end_headers()
                        return
                    body = data[first : last + 1]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
                else:
                    body = data
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes" if server.ranges else "none")
                self.end_headers()
                with server._lock:  # decide how much of the body goes out before an event
                    cut, event = len(body), None
                    if server.drop_after is not None and path.name not in server.dropped and len(body) > server.drop_after:
                        server.dropped.add(path.name)  # once per file: send part of the body, then hang up
                        cut, event = server.drop_after, "drop"
                    elif server.outage_at is not None and server.bytes_sent + len(body) > server.outage_at:
                        cut, event = server.outage_at - server.bytes_sent, "outage"
                        server.outage_at = None
                    elif server.stall_at is not None and server.bytes_sent + len(body) > server.stall_at:
                        cut, event = server.stall_at - server.bytes_sent, "stall"
                    server.bytes_sent += cut
                self.wfile.write(body[:cut])
                self.wfile.flush()
                if event == "stall":
                    server.released.wait(timeout=60)
                if event:
                    self.close_connection = True
                if event == "outage":
                    server._outage_thread = threading.Thread(target=server._go_away, daemon=True)
                    server._outage_thread.start()

        self._handler = Handler
        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _go_away(self) -> None:
        """Stop listening (connections are refused) for ``outage_s`` seconds, then listen on the same port again."""
        down_since = time.monotonic()
        self.httpd.shutdown()
        self.httpd.server_close()
        time.sleep(self.outage_s)
        if self._closed:
            return
        self.httpd = _Server(("127.0.0.1", self.port), self._handler)
        self.outages.append((down_since, time.monotonic()))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def release(self) -> None:
        """Let stalled responses end (their client has gone) and stall no more."""
        self.stall_at = None
        self.released.set()

    def close(self) -> None:
        self._closed = True
        self.released.set()
        if self._outage_thread is not None:
            self._outage_thread.join(timeout=self.outage_s + 5)
        self.httpd.shutdown()
        self.httpd.server_close()


class CityscapesServer:
    """Login (302 on the right credentials), /downloads/?list, /md5-sum/?packageID=, /file-handling/?packageID=."""

    def __init__(self, root: Path, username: str, password: str):
        self.root, self.seen_logins = Path(root), []
        files = sorted(p.name for p in self.root.glob("*.zip"))
        self.packages = [{"name": n, "packageID": str(i + 1), "size": f"{max(1, (self.root / n).stat().st_size // 1024)}KB",
                          "thirdparty": "0"} for i, n in enumerate(files)]
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _file(self):
                query = parse_qs(urlparse(self.path).query)
                pid = query.get("packageID", [""])[0]
                name = next((p["name"] for p in server.packages if p["packageID"] == pid), None)
                return server.root / name if name else None

            def _send(self, code: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlparse(self.path)
                if url.path.rstrip("/") == "/login":
                    self._send(200, b"<form>login</form>")
                elif url.path.startswith("/downloads"):
                    self._send(200, json.dumps(server.packages).encode(), {"Content-Type": "application/json"})
                elif url.path.startswith("/md5-sum"):
                    f = self._file()
                    self._send(200, f"{hashlib.md5(f.read_bytes()).hexdigest()}  {f.name}".encode())
                elif url.path.startswith("/file-handling"):
                    data = self._file().read_bytes()
                    match = re.match(r"bytes=(\d+)-", self.headers.get("Range") or "")
                    if match:
                        first = int(match.group(1))
                        self._send(206, data[first:], {"Content-Range": f"bytes {first}-{len(data) - 1}/{len(data)}"})
                    else:
                        self._send(200, data)
                else:
                    self._send(404)

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                ok = form.get("username") == [username] and form.get("password") == [password]
                server.seen_logins.append(ok)
                self._send(302 if ok else 200, b"", {"Location": "/"} if ok else None)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

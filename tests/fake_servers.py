"""HTTP servers on loopback that behave like the datasets' hosts (for tests only).

``ArchiveServer`` serves files from a folder with or without range support, can drop the
connection once per file part-way through a response, and counts the bytes it sent.
``CityscapesServer`` mimics cityscapes-dataset.com's login, package list, MD5 and
file-handling endpoints. Both stop when the test's fixture ends.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class ArchiveServer:
    def __init__(self, root: Path, *, ranges: bool = True, drop_after: int | None = None):
        self.root, self.ranges, self.drop_after = Path(root), ranges, drop_after
        self.bytes_sent, self.dropped, self.requests = 0, set(), []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                path = server.root / urlparse(self.path).path.lstrip("/")
                server.requests.append((self.path, self.headers.get("Range")))
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
                if server.ranges and match:
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
                if server.drop_after is not None and path.name not in server.dropped and len(body) > server.drop_after:
                    server.dropped.add(path.name)  # once per file: send part of the body, then hang up
                    self.wfile.write(body[: server.drop_after])
                    server.bytes_sent += server.drop_after
                    self.close_connection = True
                    return
                self.wfile.write(body)
                server.bytes_sent += len(body)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
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

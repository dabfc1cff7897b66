"""`datagen report --serve`: the report over HTTP on loopback, for a browser on this machine
(or a tunnel), with its text chunks when the run is too big to inline.

A port that cannot be used (out of range, taken by another server, reserved) is a
`ConfigError` naming the port and the fix, never a traceback. The server does not set
SO_REUSEPORT, so a port another server listens on is refused rather than shared with it.
"""

from __future__ import annotations

import errno
import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from datagen.errors import ConfigError

HOST = "127.0.0.1"
FIX = "pass another with --port, or --port 0 for a free one"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    allow_reuse_port = False  # never share a port with a server already listening on it


def check_port(port: int) -> int:
    """`port` if a TCP port can be it (0: any free one); a ConfigError otherwise."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a TCP port (0 to 65535)", hint=FIX)
    return port


def server(folder: Path, port: int = 0) -> ThreadingHTTPServer:
    """A server of `folder` on 127.0.0.1 (`port` 0: a free one); call serve_forever()."""
    check_port(port)
    handler = functools.partial(_Quiet, directory=str(folder))
    try:
        return _Server((HOST, port), handler)
    except OSError as exc:
        why = {errno.EADDRINUSE: "is in use by another program",
               errno.EACCES: "needs privileges (ports below 1024)"}.get(
            exc.errno, f"cannot be used ({exc.strerror or exc})")
        raise ConfigError(f"port {port} on {HOST} {why}", hint=FIX) from None

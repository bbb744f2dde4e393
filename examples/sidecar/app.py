"""A small non-Go API behind nginx and entraguard sidecar.

It trusts the X-Entra-* headers because nginx sets them from the sidecar's
answer (and removes any a client sent); it must only be reachable through
nginx (here: loopback). Standard library only: python3 app.py [port]
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


def caller(headers):
    """The caller's identity from the sidecar's headers (percent-decoded)."""
    get = lambda name: unquote(headers.get(name, ""))
    return {
        "oid": get("X-Entra-Object-Id"),
        "tid": get("X-Entra-Tenant-Id"),
        "app_id": get("X-Entra-App-Id"),
        "identity_type": get("X-Entra-Identity-Type"),
        "scopes": get("X-Entra-Scopes").split(),
        "roles": get("X-Entra-Roles").split(),
        "name": get("X-Entra-Name"),
    }


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self.answer(200, {"status": "ok"})
        elif path == "/api/me":
            self.answer(200, caller(self.headers))
        elif path == "/api/orders":
            self.answer(200, {"orders": []})
        elif path == "/api/admin":
            self.answer(200, {"admin": True})
        else:
            self.answer(404, {"error": "not_found"})

    def do_POST(self):
        if self.path.split("?", 1)[0] == "/api/orders":
            self.answer(201, {"created": True, "by": caller(self.headers)["oid"]})
        else:
            self.answer(404, {"error": "not_found"})

    def log_message(self, *args):
        pass  # no access log: paths and identities stay out of logs


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()

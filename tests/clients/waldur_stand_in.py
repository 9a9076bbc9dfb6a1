"""A stand-in for Waldur's `GET /api/users/me/`, the one call the log service makes to Waldur, for
`make test` (scripts/api-check.sh) and for trying Waldur tokens under `make dev`:

    python tests/clients/waldur_stand_in.py 8001 &
    WALDUR_API_URL=http://127.0.0.1:8001 make dev

It stands for an identity service outside the project; the logs stay in DynamoDB Local. Tokens
(40 hex digits, as Waldur mints them): STAFF, SUPPORT and USER below; UNREACHABLE drops the
connection unanswered; any other is refused as Waldur refuses it. `GET /_lookups` says how many
times each token was looked up, so the tests can see the cache.
"""

import json
import sys
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STAFF = "5f1d6e0c1b2a39485766f5e4d3c2b1a098877665"
SUPPORT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
USER = "0123456789abcdef0123456789abcdef01234567"
UNREACHABLE = "dead0dead0dead0dead0dead0dead0dead0dead0"
USERS = {
    STAFF: ("staff", True, False),
    SUPPORT: ("support", False, True),
    USER: ("alice", False, False),
}
lookups = Counter()


class UsersMe(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/_lookups":
            return self.answer(200, dict(lookups))
        if self.path != "/api/users/me/":
            return self.answer(404, {"detail": "Not found."})
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme != "Token" or not token:
            return self.answer(401, {"detail": "Authentication credentials were not provided."})
        lookups[token] += 1
        if token == UNREACHABLE:
            self.close_connection = True
            self.connection.close()
            return None
        if token not in USERS:
            return self.answer(401, {"detail": "Invalid token."})
        username, is_staff, is_support = USERS[token]
        return self.answer(
            200,
            {
                "uuid": f"{username}-uuid",
                "username": username,
                "full_name": f"{username.title()} Example",
                "email": f"{username}@example.com",
                "is_staff": is_staff,
                "is_support": is_support,
                "is_active": True,
            },
        )

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), UsersMe).serve_forever()

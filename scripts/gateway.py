"""The local stand-in for what API Gateway does in front of the functions, under `make dev`.

cargo lambda watch runs the functions and routes their paths; API Gateway does one more thing that
the functions never see, and this proxy does it the same way, from template.yaml's HttpApi
`CorsConfiguration` (the one place it is written) and ALLOWED_ORIGINS (the `AllowedOrigins`
parameter, a comma list):

- a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here, 204,
  without a token: with the allowed methods and headers for an allowed origin, with no CORS
  headers for any other (the browser then refuses the call). Without ALLOWED_ORIGINS there is no
  CORS configuration at all, as in the template, and a preflight goes on like any request;
- every other request goes to the functions, and its answer gets Access-Control-Allow-Origin and
  Access-Control-Expose-Headers when its Origin is allowed, and none otherwise. CORS headers of
  the router itself are dropped (cargo lambda watch, without --disable-cors, allows any origin).

Usage: gateway.py <listen port> <upstream port> <template.yaml>
"""

import http.client
import http.server
import os
import sys

import yaml


class _CloudFormation(yaml.SafeLoader):
    """Reads template.yaml: CloudFormation's tags (!Ref, !If, ...) become plain values."""


_CloudFormation.add_multi_constructor(
    "!",
    lambda loader, suffix, node: loader.construct_scalar(node)
    if isinstance(node, yaml.ScalarNode)
    else loader.construct_sequence(node)
    if isinstance(node, yaml.SequenceNode)
    else loader.construct_mapping(node),
)

# Hop-by-hop headers are the proxy's own business; API Gateway sets Content-Length itself.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "content-length"}


def cors_rules(template_path):
    with open(template_path, encoding="utf-8") as source:
        template = yaml.load(source, Loader=_CloudFormation)
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    if isinstance(cors, list):  # !If [AllowsOrigins, the configuration, !Ref AWS::NoValue]
        cors = cors[1]
    origins = [o.strip() for o in os.environ.get("ALLOWED_ORIGINS", "").split(",") if o.strip()]
    return {
        "origins": origins,
        "allow_headers": ", ".join(cors["AllowHeaders"]).lower(),
        "allow_methods": ", ".join(cors["AllowMethods"]),
        "expose_headers": ", ".join(cors["ExposeHeaders"]).lower(),
        "max_age": str(cors["MaxAge"]),
    }


def handler_for(upstream_port, rules):
    def allowed(origin):
        return origin is not None and (origin in rules["origins"] or "*" in rules["origins"])

    class Gateway(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # the functions log every request already
            pass

        def _send(self, status, headers, body):
            self.send_response_only(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

        def _preflight(self, origin):
            headers = [("Vary", "Origin")]
            if allowed(origin):
                headers += [
                    ("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Allow-Methods", rules["allow_methods"]),
                    ("Access-Control-Allow-Headers", rules["allow_headers"]),
                    ("Access-Control-Max-Age", rules["max_age"]),
                ]
            self._send(204, headers, b"")

        def _forward(self):
            origin = self.headers.get("Origin")
            if (
                rules["origins"]
                and self.command == "OPTIONS"
                and origin is not None
                and self.headers.get("Access-Control-Request-Method") is not None
            ):
                return self._preflight(origin)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            except OSError as error:
                # cargo lambda watch can lose an answer of several MB (README, make dev).
                message = (
                    f'{{"detail":"the local functions are not answering: {error}; an answer of'
                    ' several MB can be lost by cargo lambda watch: ask for a smaller size"}'
                )
                return self._send(502, [("Content-Type", "application/json")], message.encode())
            finally:
                connection.close()
            kept = [
                (k, v)
                for k, v in answer.getheaders()
                if k.lower() not in _HOP_BY_HOP and not k.lower().startswith("access-control-")
            ]
            if allowed(origin):
                kept += [
                    ("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Expose-Headers", rules["expose_headers"]),
                    ("Vary", "Origin"),
                ]
            self._send(answer.status, kept, payload)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _forward

    return Gateway


def main():
    listen_port, upstream_port, template_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rules = cors_rules(template_path)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", listen_port), handler_for(upstream_port, rules)
    )
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

"""Schemathesis hooks for scripts/api-check.sh (SCHEMATHESIS_HOOKS=hooks).

Skips request bodies that are not UTF-8 text. API Gateway hands such a body to the function
base64-encoded, and the handlers answer 400 (tests/limits.rs sends them). The local router,
cargo lambda watch, instead answers its own 500 for a JSON request whose body is not UTF-8,
before any function runs: that would be a finding about the emulator, not about the service.
"""

import schemathesis


def _is_utf8(body):
    try:
        if isinstance(body, (bytes, bytearray)):
            bytes(body).decode("utf-8")
        elif isinstance(body, str):
            body.encode("utf-8")
    except UnicodeError:
        return False
    return True


@schemathesis.hook
def filter_body(ctx, body):
    return _is_utf8(body)

"""Prints what the OpenAI-compatible API costs (issue 15): authenticating with
a personal API key against a JWT, and a completion through the official
`openai` Python client. Asserts nothing.

Start a release server with the demo model and no limits first, e.g.
  BROOK_PROVIDER=demo BROOK_DEMO_TOKEN_MS=0 BROOK_RATE_LIMIT_PER_MIN=0 \
  BROOK_AUTH_RATE_LIMIT_PER_MIN=0 LEPTOS_SITE_ADDR=127.0.0.1:3341 \
  DATABASE_URL=sqlite:///tmp/measure.db target/release/brook
then: python3 scripts/measure-openai-api.py [http://127.0.0.1:3341]
"""

import sys
import json, statistics, time, urllib.request
from openai import OpenAI
B = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:3341"
def call(method, path, body=None, token=None):
    req = urllib.request.Request(B + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")
jwt = call("POST", "/api/v1/auth/register", {"email": f"m{time.time()}@example.com", "password": "measure-it"})["token"]
key = call("POST", "/api/v1/keys", {"name": "measure"}, jwt)["key"]
def med(fn, n):
    for _ in range(10): fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    return statistics.median(ts), ts[int(n * 0.95)]
print("GET /v1/models, JWT : median %.2f ms, p95 %.2f ms" % med(lambda: call("GET", "/v1/models", token=jwt), 300))
print("GET /v1/models, key : median %.2f ms, p95 %.2f ms" % med(lambda: call("GET", "/v1/models", token=key), 300))
c = OpenAI(base_url=B + "/v1", api_key=key, max_retries=0)
msg = [{"role": "user", "content": "Hello"}]
print("completion (demo, openai-python, not streamed): median %.2f ms, p95 %.2f ms" % med(lambda: c.chat.completions.create(model="Assistant", messages=msg), 100))
def first_token():
    for ch in c.chat.completions.create(model="Assistant", messages=msg, stream=True):
        if ch.choices and ch.choices[0].delta.content: break
print("time to first text chunk (demo, streamed, client side): median %.2f ms, p95 %.2f ms" % med(first_token, 100))

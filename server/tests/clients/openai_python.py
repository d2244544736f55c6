"""The official `openai` Python package against Brook's /v1, unchanged.

Run by server/tests/api/openai_clients.rs with BROOK_BASE_URL, BROOK_KEY,
BOT_ID, BOT_NAME and EXPECTED (the fake upstream's reply) in the environment.
The server allows 3 completions a minute, so the fourth is a 429.
Prints PY_OPENAI_OK at the end; any failed check raises.
"""

import os

import openai
from openai import OpenAI

base, key = os.environ["BROOK_BASE_URL"], os.environ["BROOK_KEY"]
bot_id, bot_name, expected = os.environ["BOT_ID"], os.environ["BOT_NAME"], os.environ["EXPECTED"]
client = OpenAI(base_url=base, api_key=key, max_retries=0, timeout=30)

ids = [m.id for m in client.models.list()]
assert bot_id in ids, ids

# 1. Not streamed, the bot named by its name.
r = client.chat.completions.create(
    model=bot_name,
    messages=[{"role": "user", "content": "Hello from Python"}],
)
assert r.object == "chat.completion", r
assert r.choices[0].message.role == "assistant", r
assert r.choices[0].message.content == expected, r
assert r.choices[0].finish_reason == "stop", r
assert r.usage.completion_tokens == len(expected.split()), r.usage
print("non-streaming ok")

# 2. Streamed, the bot named by its id, text-part content.
text = ""
for chunk in client.chat.completions.create(
    model=bot_id,
    messages=[{"role": "user", "content": [{"type": "text", "text": "Stream please"}]}],
    stream=True,
):
    assert chunk.object == "chat.completion.chunk", chunk
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
assert text == expected, text
print("streaming ok")

# 3. stream_options.include_usage: a last chunk with usage and no choices.
chunks = list(
    client.chat.completions.create(
        model=bot_id,
        messages=[{"role": "system", "content": "Extra rules."}, {"role": "user", "content": "Usage?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
)
last = chunks[-1]
assert last.choices == [], last
assert last.usage is not None and last.usage.completion_tokens == len(expected.split()), last
assert all(c.usage is None for c in chunks[:-1]), chunks
assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected
print("include_usage ok")

# 4. The three error classes.
try:
    OpenAI(base_url=base, api_key="brk_not-a-real-key", max_retries=0).chat.completions.create(
        model=bot_id, messages=[{"role": "user", "content": "hi"}]
    )
    raise SystemExit("a bad key was accepted")
except openai.AuthenticationError as e:
    assert e.status_code == 401, e
    assert e.body["type"] == "authentication_error", e.body
print("AuthenticationError ok")

try:
    client.chat.completions.create(model="no-such-bot", messages=[{"role": "user", "content": "hi"}])
    raise SystemExit("an unknown model was accepted")
except openai.NotFoundError as e:
    assert e.status_code == 404, e
print("NotFoundError ok")

try:
    client.chat.completions.create(model=bot_id, messages=[{"role": "user", "content": "one too many"}])
    raise SystemExit("the rate limit did not apply")
except openai.RateLimitError as e:
    assert e.status_code == 429, e
    assert e.response.headers.get("retry-after"), e.response.headers
print("RateLimitError ok")
print("PY_OPENAI_OK")

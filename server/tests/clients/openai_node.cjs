// The official `openai` npm package against Brook's /v1, unchanged. Run by
// server/tests/api/openai_clients.rs with NODE_PATH at end2end/node_modules and
// BROOK_BASE_URL, BROOK_KEY, BOT_ID, EXPECTED in the environment.
const assert = require('node:assert/strict');
const OpenAI = require('openai');

const { BROOK_BASE_URL: baseURL, BROOK_KEY: apiKey, BOT_ID: botId, EXPECTED: expected } = process.env;

(async () => {
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30000 });

  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  assert.ok(models.includes(botId), `models: ${models}`);

  const r = await client.chat.completions.create({ model: botId, messages: [{ role: 'user', content: 'Hello from Node' }] });
  assert.equal(r.choices[0].message.content, expected);
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(r.usage.completion_tokens > 0);
  console.log('non-streaming ok');

  const stream = await client.chat.completions.create({
    model: botId,
    messages: [{ role: 'user', content: 'Stream please' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, expected);
  assert.ok(usage && usage.completion_tokens > 0, `usage: ${JSON.stringify(usage)}`);
  console.log('streaming ok');

  await assert.rejects(
    new OpenAI({ baseURL, apiKey: 'brk_wrong', maxRetries: 0 }).chat.completions.create({ model: botId, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401,
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-bot', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404,
  );
  console.log('errors ok');
  console.log('NODE_OPENAI_OK');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

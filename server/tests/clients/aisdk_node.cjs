// The AI SDK's `@ai-sdk/openai-compatible` provider with `generateText` and
// `streamText` against Brook's /v1, unchanged. Run by
// server/tests/api/openai_clients.rs (NODE_PATH at end2end/node_modules).
const assert = require('node:assert/strict');
const { createOpenAICompatible } = require('@ai-sdk/openai-compatible');
const { generateText, streamText } = require('ai');

const { BROOK_BASE_URL: baseURL, BROOK_KEY: apiKey, BOT_ID: botId, EXPECTED: expected } = process.env;

(async () => {
  const brook = createOpenAICompatible({ name: 'brook', baseURL, apiKey, includeUsage: true });

  const g = await generateText({ model: brook(botId), prompt: 'Hello from the AI SDK', maxRetries: 0 });
  assert.equal(g.text, expected);
  assert.equal(g.finishReason, 'stop');
  assert.ok(g.usage.outputTokens > 0, `usage: ${JSON.stringify(g.usage)}`);
  console.log('generateText ok');

  const s = streamText({
    model: brook(botId),
    messages: [
      { role: 'system', content: 'Extra rules.' },
      { role: 'user', content: 'Stream from the AI SDK' },
    ],
    maxRetries: 0,
    onError: ({ error }) => { console.error('stream error', error); process.exit(2); },
  });
  let text = '';
  for await (const piece of s.textStream) text += piece;
  assert.equal(text, expected);
  const usage = await s.usage;
  assert.ok(usage.outputTokens > 0, `usage: ${JSON.stringify(usage)}`);
  assert.equal(await s.finishReason, 'stop');
  console.log('streamText ok');
  console.log('AISDK_OK');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

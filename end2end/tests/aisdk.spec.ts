import { test, expect } from '@playwright/test';
import { AbstractChat, DefaultChatTransport, readUIMessageStream } from 'ai';

// The Vercel AI SDK's own code reads Brook's `/api/v1/chat/stream`: no hand-written parser.

async function register(request: any): Promise<string> {
  const email = `sdk-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  const res = await request.post('/api/v1/auth/register', { data: { email, password: 'ai-sdk-test' } });
  expect(res.status()).toBe(201);
  return (await res.json()).token;
}

async function storedReply(request: any, token: string, session: string, replyId: string): Promise<string> {
  const res = await request.get(`/api/v1/conversations/${session}/messages`, { headers: { Authorization: `Bearer ${token}` } });
  const page = await res.json();
  const m = page.messages.find((x: any) => x.id === replyId);
  expect(m, 'reply stored').toBeTruthy();
  expect(m.status).toBe('complete');
  return m.content;
}

test('readUIMessageStream rebuilds the stored reply', async ({ request, baseURL }) => {
  const token = await register(request);
  const transport = new DefaultChatTransport({ api: `${baseURL}/api/v1/chat/stream`, headers: { Authorization: `Bearer ${token}` } });
  const stream = await transport.sendMessages({
    chatId: 'sdk-chat-1',
    messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Hello from the AI SDK' }] }],
    trigger: 'submit-message',
    messageId: undefined,
    abortSignal: undefined,
  } as any);
  let last: any;
  for await (const msg of readUIMessageStream({ stream, terminateOnError: true })) last = msg;
  expect(last.role).toBe('assistant');
  const parts = last.parts.filter((p: any) => p.type === 'text');
  expect(parts.every((p: any) => p.state === 'done')).toBe(true);
  const text = parts.map((p: any) => p.text).join('');
  expect(text.length).toBeGreaterThan(50);
  // Brook's ids ride in messageMetadata.
  expect(last.metadata.session_id).toBe('sdk-chat-1');
  expect(typeof last.metadata.reply_id).toBe('string');
  expect(typeof last.metadata.message_id).toBe('string');
  expect(await storedReply(request, token, 'sdk-chat-1', last.metadata.reply_id)).toBe(text);
});

class MemState {
  status: any = 'ready';
  error: any = undefined;
  messages: any[] = [];
  pushMessage = (m: any) => { this.messages = [...this.messages, m]; };
  popMessage = () => { this.messages = this.messages.slice(0, -1); };
  replaceMessage = (i: number, m: any) => { this.messages = this.messages.map((x, j) => (j === i ? m : x)); };
  snapshot = (t: any) => structuredClone(t);
}

class NodeChat extends (AbstractChat as any) {
  constructor(o: any) {
    super({ ...o, state: new MemState() });
  }
}

test("useChat's own transport and body: send, then regenerate", async ({ request, baseURL }) => {
  const token = await register(request);
  const bodies: any[] = [];
  const chat: any = new NodeChat({
    id: 'usechat-1',
    transport: new DefaultChatTransport({
      api: `${baseURL}/api/v1/chat/stream`,
      headers: { Authorization: `Bearer ${token}` },
      fetch: async (url: any, init: any) => {
        bodies.push(JSON.parse(init.body));
        return fetch(url, init);
      },
    }),
  });
  await chat.sendMessage({ text: 'What is Brook?' });
  expect(chat.status).toBe('ready');
  expect(chat.error).toBeUndefined();
  expect(bodies[0]).toMatchObject({ id: 'usechat-1', trigger: 'submit-message' });
  expect(bodies[0].messages[0].parts[0]).toEqual({ type: 'text', text: 'What is Brook?' });
  const reply = chat.messages[1];
  const text = reply.parts.filter((p: any) => p.type === 'text').map((p: any) => p.text).join('');
  expect(await storedReply(request, token, 'usechat-1', reply.metadata.reply_id)).toBe(text);

  await chat.regenerate();
  expect(chat.status).toBe('ready');
  expect(bodies[1].trigger).toBe('regenerate-message');
  const again = chat.messages[1];
  expect(again.metadata.reply_id).not.toBe(reply.metadata.reply_id);
  const versions = await request.get(`/api/v1/messages/${again.metadata.reply_id}/versions`, { headers: { Authorization: `Bearer ${token}` } });
  expect((await versions.json()).versions.length).toBe(2);

  // Sending the same user message id again (a retry) does not create a second reply.
  const resend = await request.post('/api/v1/chat/stream', {
    headers: { Authorization: `Bearer ${token}` },
    data: bodies[0],
  });
  expect(resend.status()).toBe(200);
  expect(await resend.text()).toContain(reply.metadata.reply_id);
});

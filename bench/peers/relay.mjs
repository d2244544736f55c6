// A minimal AI SDK relay, the peer users would write instead of Brook (issue 16):
// POST / with the useChat body `{messages: [{role, parts: [{type: "text", text}]}]}`
// → streamText against the OpenAI-compatible upstream → the UI message stream
// (SSE, protocol v1), exactly as the AI SDK's docs show it. Nothing is stored.
// Usage: node relay.mjs <port> <upstream base url, e.g. http://127.0.0.1:P/v1>
import http from "node:http";
import { streamText, convertToModelMessages } from "ai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";

const port = Number(process.argv[2] ?? 3360);
const baseURL = process.argv[3] ?? "http://127.0.0.1:8000/v1";
const provider = createOpenAICompatible({ name: "fake", baseURL, apiKey: "bench" });

const server = http.createServer(async (req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
    return;
  }
  let body = "";
  for await (const chunk of req) body += chunk;
  try {
    const { messages } = JSON.parse(body);
    const result = streamText({
      model: provider.chatModel("fake-model"),
      messages: await convertToModelMessages(messages),
    });
    const response = result.toUIMessageStreamResponse();
    res.writeHead(response.status, Object.fromEntries(response.headers));
    for await (const part of response.body) res.write(part);
    res.end();
  } catch (e) {
    res.writeHead(400, { "content-type": "text/plain" });
    res.end(String(e));
  }
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => console.log(`relay on ${port}`));

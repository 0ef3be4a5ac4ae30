// Drives a running `safemerge serve` with the official OpenAI client library and prints what it saw as JSON.
// Usage: NODE_PATH=<dir with node_modules/openai> node openai_client.mjs BASE_URL API_KEY MODEL
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { OpenAI } = require(process.env.NODE_PATH + "/openai");

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60000 });

const out = {};
const models = await client.models.list();
out.models = models.data.map((m) => m.id);

const completion = await client.completions.create({ model, prompt: "The capital of France", max_tokens: 40, temperature: 0 });
out.completion = { text: completion.choices[0].text, finish: completion.choices[0].finish_reason, usage: completion.usage };

const chat = await client.chat.completions.create({
  model,
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Capital of France?" },
  ],
  max_tokens: 40,
  temperature: 0,
});
out.chat = { content: chat.choices[0].message.content, role: chat.choices[0].message.role, finish: chat.choices[0].finish_reason, usage: chat.usage };

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Capital of France?" }],
  max_tokens: 40,
  temperature: 0,
  stream: true,
  stream_options: { include_usage: true },
});
let streamed = "";
let chunks = 0;
let streamFinish = null;
let streamUsage = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) streamUsage = chunk.usage;
  for (const choice of chunk.choices) {
    streamed += choice.delta?.content ?? "";
    if (choice.finish_reason) streamFinish = choice.finish_reason;
  }
}
out.stream = { content: streamed, chunks, finish: streamFinish, usage: streamUsage };

try {
  await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
  out.missingModel = "no error";
} catch (e) {
  out.missingModel = { status: e.status, code: e.code ?? null, type: e.constructor.name };
}
try {
  await client.completions.create({ model, prompt: "x", temperature: 7 });
  out.badRequest = "no error";
} catch (e) {
  out.badRequest = { status: e.status, type: e.constructor.name };
}
process.stdout.write(JSON.stringify(out) + "\n");

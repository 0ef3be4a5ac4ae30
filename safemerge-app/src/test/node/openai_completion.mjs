// Sends one completion request with the official OpenAI client library and prints what came back as JSON:
// {status, text, finish_reason}, or {status, code} for an HTTP error.
// Usage: NODE_PATH=<dir with node_modules/openai> node openai_completion.mjs BASE_URL REQUEST_JSON
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { OpenAI, APIError } = require(process.env.NODE_PATH + "/openai");

const [baseURL, body] = process.argv.slice(2);
const request = JSON.parse(body);
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0, timeout: 60000 });
try {
  const completion = await client.completions.create({
    model: request.model,
    prompt: request.prompt,
    max_tokens: request.max_tokens,
    temperature: 0,
    seed: request.seed,
  });
  const choice = completion.choices[0];
  console.log(JSON.stringify({ status: 200, text: choice.text, finish_reason: choice.finish_reason }));
} catch (e) {
  if (!(e instanceof APIError) || e.status === undefined) throw e;
  console.log(JSON.stringify({ status: e.status, code: e.code ?? null }));
}

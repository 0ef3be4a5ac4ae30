// llama.cpp side of InferenceBench, through node-llama-cpp's prebuilt CPU build: the same work per figure as the
// engine's and transformers' rows (prefill of one prompt in one batch, timed after untimed full-length ones; greedy
// decode of B sequences after 16-token prompts, the B sequences of one context evaluated together in one batch per
// step, steps timed after seconds of untimed rounds).
//
// Prints one JSON line: {"prefill": tok/s, "decode": {"1": tok/s, "16": ..., "64": ...}, "nodeLlamaCpp": ...,
// "llamaCpp": ..., "threads": ...}; each figure is the median of the repeats. With --logits TOKENS (comma-separated
// ids) it prints instead {"logits": [[...vocab floats...] per position]}: the raw logits after each token, for the
// bench's check that the GGUF computes the same model as the safetensors checkpoint.
// Run by safemerge-bench/run InferenceBench with node_modules from --llamacpp; by hand:
//     NODE_PATH=DIR/node_modules node safemerge-bench/src/main/node/inference_bench_llamacpp.mjs MODEL.gguf --threads 2
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";

const { values: a, positionals } = parseArgs({
    allowPositionals: true,
    options: {
        modules: { type: "string" },
        threads: { type: "string", default: "2" },
        "prefill-tokens": { type: "string", default: "128" },
        "decode-tokens": { type: "string", default: "24" },
        batches: { type: "string", default: "1,16,64" },
        repeats: { type: "string", default: "3" },
        // untimed full-length prefills before the timed ones
        "prefill-warmup": { type: "string", default: "4" },
        // seconds of untimed decode rounds before the timed ones
        "decode-warmup-seconds": { type: "string", default: "5" },
        logits: { type: "string" },
    },
});
// node-llama-cpp is resolved from the bench's own install (--modules DIR/node_modules), not from this source tree
const require = createRequire(path.join(path.resolve(a.modules ?? "node_modules"), "noop.js"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));
const threads = Number(a.threads);

// the Java bench's prompt ids (InferenceBench.prompt), kept inside the vocabulary of the smaller shapes
function prompt(length, salt, vocab) {
    return Array.from({ length }, (_, i) => (1000 + ((i * 7919 + salt * 104729) % 100000)) % vocab);
}

function median(xs) {
    const s = [...xs].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const llama = await getLlama({ gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: positionals[0], gpuLayers: 0 });
const vocab = model.fileInsights.vocabularySize ?? model.fileInfo.metadata.llama.vocab_size;

async function logits(tokens) {
    const context = await model.createContext({ contextSize: 256, sequences: 1, threads, batchSize: 256 });
    const results = await context.getSequence().controlledEvaluate(
        tokens.map((t) => [t, { generateNext: { logits: true } }]));
    const rows = results.map((r) => {
        const row = new Array(vocab).fill(null);
        for (const [token, value] of r.next.logits) row[token] = value;
        return row;
    });
    await context.dispose();
    return rows;
}

async function prefill(tokens, repeats, warmup) {
    const context = await model.createContext({ contextSize: tokens + 32, sequences: 1, threads, batchSize: tokens });
    const sequence = context.getSequence();
    for (let w = 0; w < warmup; w++) {
        await sequence.clearHistory();
        await sequence.evaluateWithoutGeneratingNewTokens(prompt(tokens, repeats + w, vocab));
    }
    const rates = [];
    for (let r = 0; r < repeats; r++) {
        await sequence.clearHistory();
        const ids = prompt(tokens, r, vocab);
        const start = performance.now();
        await sequence.evaluateWithoutGeneratingNewTokens(ids);
        rates.push(tokens / ((performance.now() - start) / 1000));
    }
    await context.dispose();
    return median(rates);
}

// Each sequence decodes through its own generator; node-llama-cpp gathers the tokens that all sequences queue
// into one llama_decode per step, so B sequences advance together. The clock runs from the step at which every
// sequence has produced its warm-up tokens to the step at which every one has produced the timed ones. As in the
// engine's rows, an end-of-generation token does not end a sequence (yieldEogToken), so the work is fixed.
async function decode(batch, steps, repeats, warmupSeconds) {
    const context = await model.createContext({
        contextSize: 16 + steps + 8, sequences: batch, threads, batchSize: Math.max(batch * 16, 16),
    });
    const sequences = Array.from({ length: batch }, () => context.getSequence());
    // one round: the 16-token prompts, one untimed step, then the timed steps
    async function round() {
        await Promise.all(sequences.map((s) => s.clearHistory()));
        await Promise.all(sequences.map((s, b) => s.evaluateWithoutGeneratingNewTokens(prompt(15, b, vocab))));
        let warm = 0;
        let done = 0;
        let start = 0;
        let end = 0;
        await Promise.all(sequences.map(async (s, b) => {
            let produced = 0;
            for await (const token of s.evaluate([prompt(16, b, vocab)[15]], { temperature: 0, yieldEogToken: true })) {
                produced++;
                if (produced === 1 && ++warm === batch) start = performance.now();
                if (produced === 1 + steps) {
                    if (++done === batch) end = performance.now();
                    break;
                }
            }
        }));
        return (batch * steps) / ((end - start) / 1000);
    }
    // uncounted rounds for warmupSeconds (at least one), then the counted ones: the engine's rule
    const warmupEnd = performance.now() + warmupSeconds * 1000;
    do await round(); while (performance.now() < warmupEnd);
    const rates = [];
    for (let r = 0; r < repeats; r++) rates.push(await round());
    await context.dispose();
    return median(rates);
}

if (a.logits !== undefined) {
    console.log(JSON.stringify({ logits: await logits(a.logits.split(",").map(Number)) }));
} else {
    const repeats = Number(a.repeats);
    const result = {
        nodeLlamaCpp: JSON.parse(readFileSync(path.join(path.resolve(a.modules ?? "node_modules"),
            "node-llama-cpp", "package.json"), "utf8")).version,
        llamaCpp: llama.llamaCppRelease.release,
        buildType: llama.buildType,
        gpu: llama.gpu,
        threads,
        prefill: await prefill(Number(a["prefill-tokens"]), repeats, Number(a["prefill-warmup"])),
        decode: {},
    };
    for (const b of a.batches.split(",")) {
        const warmupSeconds = Number(a["decode-warmup-seconds"]);
        result.decode[b] = await decode(Number(b), Number(a["decode-tokens"]), repeats, warmupSeconds);
    }
    console.log(JSON.stringify(result));
}
await model.dispose();
await llama.dispose();

"""transformers side of InferenceBench: the same checkpoint, the same prompts and the same work per figure as the Java
engine's rows (prefill of one prompt in one forward call, timed after untimed full-length ones; greedy decode of B
sequences after 16-token prompts, one forward call per step with the KV cache, steps timed after seconds of untimed
rounds), on PyTorch's CPU kernels.

Prints one JSON line: {"prefill": tok/s, "decode": {"1": tok/s, "16": ..., "64": ...}, "torch": ..., "transformers":
..., "dtype": ..., "threads": ...}; each figure is the median of the repeats.
Run by safemerge-bench/run InferenceBench with the Python of tools/goldens/README.md; by hand:
    /tmp/goldens-venv/bin/python safemerge-bench/src/main/python/inference_bench_transformers.py CHECKPOINT \
        --dtype bfloat16 --threads 2
"""
import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import DynamicCache, LlamaForCausalLM


def prompt(length, salt, vocab):
    # the Java bench's prompt ids (InferenceBench.prompt), kept inside the vocabulary of the smaller shapes
    return [(1000 + (i * 7919 + salt * 104729) % 100_000) % vocab for i in range(length)]


def prefill(model, tokens, repeats, warmup, vocab):
    for w in range(warmup):
        model(input_ids=torch.tensor([prompt(tokens, repeats + w, vocab)]), use_cache=True)
    rates = []
    for r in range(repeats):
        ids = torch.tensor([prompt(tokens, r, vocab)])
        start = time.perf_counter()
        model(input_ids=ids, use_cache=True)
        rates.append(tokens / (time.perf_counter() - start))
    return statistics.median(rates)


def decode_round(model, batch, steps, vocab):
    ids = torch.tensor([prompt(16, b, vocab) for b in range(batch)])
    cache = DynamicCache(config=model.config)
    out = model(input_ids=ids, past_key_values=cache, use_cache=True)
    start = 0.0
    for s in range(steps + 1):
        if s == 1:
            start = time.perf_counter()
        nxt = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)
        out = model(input_ids=nxt, past_key_values=out.past_key_values, use_cache=True)
    return batch * steps / (time.perf_counter() - start)


def decode(model, batch, steps, repeats, warmup_seconds, vocab):
    # uncounted rounds for warmup_seconds (at least one), then the counted ones: the engine's rule
    warmup_end = time.perf_counter() + warmup_seconds
    decode_round(model, batch, steps, vocab)
    while time.perf_counter() < warmup_end:
        decode_round(model, batch, steps, vocab)
    return statistics.median(decode_round(model, batch, steps, vocab) for _ in range(repeats))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint")
    p.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prefill-tokens", type=int, default=128)
    p.add_argument("--decode-tokens", type=int, default=24)
    p.add_argument("--batches", default="1,16,64")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--prefill-warmup", type=int, default=4, help="untimed full-length prefills before the timed ones")
    p.add_argument("--decode-warmup-seconds", type=float, default=5, help="untimed decode rounds before the timed ones")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = LlamaForCausalLM.from_pretrained(a.checkpoint, dtype=getattr(torch, a.dtype))
    model.eval()
    vocab = model.config.vocab_size
    result = {"torch": torch.__version__, "transformers": transformers.__version__, "dtype": a.dtype,
              "threads": torch.get_num_threads(), "attention": model.config._attn_implementation}
    with torch.inference_mode():
        result["prefill"] = prefill(model, a.prefill_tokens, a.repeats, a.prefill_warmup, vocab)
        result["decode"] = {
            b: decode(model, int(b), a.decode_tokens, a.repeats, a.decode_warmup_seconds, vocab)
            for b in a.batches.split(",")
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

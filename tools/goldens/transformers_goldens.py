#!/usr/bin/env python3
"""Goldens from transformers itself: tiny checkpoints of every supported family, created with
`AutoModelForCausalLM.from_config` under a fixed seed and written by `save_pretrained` (HF's own config.json,
generation_config.json, dtypes and sharding), with the float32 logits of every position and greedy continuations
that transformers computes for them (eager attention, weights upcast to float32 exactly).

Usage: python transformers_goldens.py OUT_DIR
(the suite reads safemerge-model/src/test/resources/goldens/transformers; see README.md for the versions)
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file
from transformers import AutoConfig, AutoModelForCausalLM

COMMON = {"vocab_size": 128, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
          "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "initializer_range": 0.2}

CASES = [
    # name, model_type, config overrides, dtype, max_shard_size, sequence length
    ("llama2_f32", "llama", {"num_key_value_heads": 4, "rms_norm_eps": 1e-5}, torch.float32, None, 12),
    ("llama3_bf16_rope_llama3_tied_sharded", "llama",
     {"tie_word_embeddings": True,
      "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 4.0, "original_max_position_embeddings": 16}},
     torch.bfloat16, "20KB", 14),
    ("mistral_f32_window", "mistral", {"sliding_window": 4}, torch.float32, None, 12),
    ("qwen2_bf16_tied", "qwen2", {"tie_word_embeddings": True}, torch.bfloat16, None, 12),
    ("qwen2_f32", "qwen2", {"tie_word_embeddings": False}, torch.float32, None, 12),
    ("gemma_f32", "gemma", {"head_dim": 8, "num_key_value_heads": 1}, torch.float32, None, 12),
    ("gemma2_f32_softcap_window", "gemma2",
     {"head_dim": 8, "sliding_window": 4, "query_pre_attn_scalar": 8, "attn_logit_softcapping": 2.0,
      "final_logit_softcapping": 5.0}, torch.float32, None, 14),
    ("gemma2_bf16_softcap_window", "gemma2",
     {"head_dim": 8, "sliding_window": 3, "query_pre_attn_scalar": 16, "attn_logit_softcapping": 3.0,
      "final_logit_softcapping": 10.0}, torch.bfloat16, None, 12),
]

GREEDY_PROMPTS = [[1, 17, 42, 99], [1, 100, 3], [1, 5, 6, 7, 8, 9, 10]]
GREEDY_STEPS = 8
SEED = 20261202


def make_checkpoint(directory, model_type, overrides, dtype, shard):
    config = AutoConfig.for_model(model_type, **{**COMMON, **overrides})
    torch.manual_seed(SEED)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model = model.to(dtype)
    kwargs = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(directory, **kwargs)


def reload_float32(directory):
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return model


def greedy(model, prompt):
    """Greedy decoding with transformers' generate (KV cache), running to GREEDY_STEPS tokens; also returns the
    smallest top-1/top-2 logit gap met, which must be wide enough that float32 reordering cannot flip it."""
    out = model.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=GREEDY_STEPS,
                         min_new_tokens=0, eos_token_id=None, pad_token_id=0, output_logits=True,
                         return_dict_in_generate=True)
    ids = out.sequences[0, len(prompt):].tolist()
    gap = min(float(torch.topk(step[0], 2).values.diff().abs()) for step in out.logits)
    return ids, gap


def main():
    out = sys.argv[1]
    torch.use_deterministic_algorithms(True)
    summary = {"transformers": transformers.__version__, "torch": torch.__version__, "seed": SEED, "cases": {}}
    for name, model_type, overrides, dtype, shard, length in CASES:
        directory = os.path.join(out, "models", name)
        make_checkpoint(directory, model_type, overrides, dtype, shard)
        model = reload_float32(directory)
        rng = np.random.default_rng(sum(map(ord, name)))
        ids = rng.integers(3, COMMON["vocab_size"], size=length)
        ids[0] = 1
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].float().numpy()
        tensors = {"ids": ids.astype(np.float32), "logits": np.ascontiguousarray(logits, dtype=np.float32)}
        worst_gap = float("inf")
        with torch.no_grad():
            for n, prompt in enumerate(GREEDY_PROMPTS):
                continuation, gap = greedy(model, prompt)
                worst_gap = min(worst_gap, gap)
                tensors[f"greedy_prompt_{n}"] = np.array(prompt, dtype=np.float32)
                tensors[f"greedy_ids_{n}"] = np.array(continuation, dtype=np.float32)
        # the project agrees with transformers to ~1e-6 of the logit scale; a gap of 1e-4 cannot flip an argmax
        assert worst_gap > 1e-4, f"{name}: greedy top-2 gap {worst_gap} too small for a stable test"
        os.makedirs(os.path.join(out, "expected"), exist_ok=True)
        save_file(tensors, os.path.join(out, "expected", name + ".safetensors"))
        summary["cases"][name] = {"files": sorted(os.listdir(directory)), "max_abs_logit": float(abs(logits).max()),
                                  "greedy_min_gap": worst_gap}
    with open(os.path.join(out, "versions.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

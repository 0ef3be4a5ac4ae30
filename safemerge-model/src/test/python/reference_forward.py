#!/usr/bin/env python3
"""Independent float32 reference of the HF decoder forward pass (Llama, Mistral, Qwen2, Gemma, Gemma 2).

Writes tiny random checkpoints (config.json + safetensors, some sharded, some with PEFT LoRA adapters) and the
expected logits of every position plus greedy continuations, computed here with numpy following the semantics of
transformers' modeling_llama / modeling_mistral / modeling_qwen2 / modeling_gemma / modeling_gemma2 and
modeling_rope_utils (eager attention), and PEFT's LoRA layer.

Usage: python3 reference_forward.py OUTPUT_DIR     (the tests read src/test/resources/reference)
"""
import json
import math
import os
import sys

import numpy as np

F32 = np.float32


# ---------------------------------------------------------------- safetensors (own writer)

def to_bf16_bits(x):
    bits = np.ascontiguousarray(x, dtype=F32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_round(x):
    return (to_bf16_bits(x).astype(np.uint32) << 16).view(F32)


def stored_values(x, dtype):
    """The float32 values a tensor holds after being stored in dtype."""
    if dtype == "BF16":
        return bf16_round(x)
    if dtype == "F16":
        return x.astype(np.float16).astype(F32)
    return x.astype(F32)


def encode(x, dtype):
    if dtype == "BF16":
        return to_bf16_bits(x).astype("<u2").tobytes()
    if dtype == "F16":
        return x.astype("<f2").tobytes()
    return x.astype("<f4").tobytes()


def write_safetensors(path, tensors):
    """tensors: name -> (float32 array, dtype name)."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        array, dtype = tensors[name]
        data = encode(array, dtype)
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for blob in blobs:
            f.write(blob)


# ---------------------------------------------------------------- config resolution (class defaults)

def resolve(cfg):
    mt = cfg["model_type"]
    gemma = mt in ("gemma", "gemma2")
    r = dict(cfg)
    r["heads"] = cfg["num_attention_heads"]
    r["kv"] = cfg.get("num_key_value_heads") or cfg["num_attention_heads"]
    r["head_dim"] = cfg.get("head_dim") or (256 if gemma else cfg["hidden_size"] // cfg["num_attention_heads"])
    r["eps"] = cfg.get("rms_norm_eps", 1e-6)
    r["theta"] = cfg.get("rope_theta", 10000.0)
    r["tied"] = cfg.get("tie_word_embeddings", gemma)
    if gemma:
        r["act"] = cfg.get("hidden_activation") or "gelu_pytorch_tanh"
    else:
        r["act"] = cfg.get("hidden_act", "silu")
    layers = cfg["num_hidden_layers"]
    if mt == "mistral":
        w = cfg.get("sliding_window", 4096) if "sliding_window" in cfg else 4096
        r["windows"] = [w or 0] * layers
    elif mt == "qwen2":
        w = cfg.get("sliding_window", 4096) if cfg.get("use_sliding_window", False) else 0
        r["windows"] = [w if i >= cfg.get("max_window_layers", 28) else 0 for i in range(layers)]
    elif mt == "gemma2":
        w = cfg.get("sliding_window", 4096)
        r["windows"] = [(w or 0) if i % 2 == 0 else 0 for i in range(layers)]
    else:
        r["windows"] = [0] * layers
    if mt == "gemma2":
        r["scaling"] = cfg.get("query_pre_attn_scalar", 256) ** -0.5
        r["attn_cap"] = cfg.get("attn_logit_softcapping", 50.0) if "attn_logit_softcapping" in cfg else 50.0
        r["final_cap"] = cfg.get("final_logit_softcapping", 30.0) if "final_logit_softcapping" in cfg else 30.0
    else:
        r["scaling"] = r["head_dim"] ** -0.5
        r["attn_cap"] = None
        r["final_cap"] = None
    r["qkv_bias"] = mt == "qwen2" or (mt != "mistral" and cfg.get("attention_bias", False))
    r["o_bias"] = mt != "mistral" and mt != "qwen2" and cfg.get("attention_bias", False)
    r["mlp_bias"] = mt == "llama" and cfg.get("mlp_bias", False)
    return r


# ---------------------------------------------------------------- rope (modeling_rope_utils)

def default_inv_freq(theta, dim):
    exponents = np.arange(0, dim, 2, dtype=np.int64).astype(F32) / F32(dim)
    return (F32(1.0) / (F32(theta) ** exponents)).astype(F32)


def rope_params(r, seq_len):
    """(inv_freq, attention_factor) for a forward whose longest length is seq_len."""
    dim = r["head_dim"]
    theta = r["theta"]
    scaling = r.get("rope_scaling")
    if not scaling:
        return default_inv_freq(theta, dim), 1.0
    kind = scaling.get("rope_type", scaling.get("type"))
    factor = scaling.get("factor")
    if kind == "linear":
        return (default_inv_freq(theta, dim) / F32(factor)).astype(F32), 1.0
    if kind == "dynamic":
        max_pos = r["max_position_embeddings"]
        if seq_len <= max_pos:
            return default_inv_freq(theta, dim), 1.0
        base = theta * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
        return default_inv_freq(base, dim), 1.0
    if kind == "llama3":
        inv = default_inv_freq(theta, dim)
        old = scaling["original_max_position_embeddings"]
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        low_wl, high_wl = old / low, old / high
        wavelen = F32(2 * math.pi) / inv
        scaled = np.where(wavelen > low_wl, inv / F32(factor), inv)
        smooth = (F32(old) / wavelen - F32(low)) / F32(high - low)
        smoothed = (1 - smooth) * scaled / F32(factor) + smooth * scaled
        medium = ~(wavelen < high_wl) & ~(wavelen > low_wl)
        return np.where(medium, smoothed, scaled).astype(F32), 1.0
    if kind == "yarn":
        orig = scaling.get("original_max_position_embeddings") or r["max_position_embeddings"]
        if factor is None:
            factor = r["max_position_embeddings"] / orig
        def mscale(s, m=1.0):
            return 1.0 if s <= 1 else 0.1 * m * math.log(s) + 1.0
        att = scaling.get("attention_factor")
        if att is None:
            if scaling.get("mscale") and scaling.get("mscale_all_dim"):
                att = mscale(factor, scaling["mscale"]) / mscale(factor, scaling["mscale_all_dim"])
            else:
                att = mscale(factor)
        beta_fast = scaling.get("beta_fast") or 32
        beta_slow = scaling.get("beta_slow") or 1
        def corr_dim(rot):
            return (dim * math.log(orig / (rot * 2 * math.pi))) / (2 * math.log(theta))
        lo, hi = corr_dim(beta_fast), corr_dim(beta_slow)
        if scaling.get("truncate", True):
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, dim - 1)
        if lo == hi:
            hi += 0.001
        pos_freqs = F32(theta) ** (np.arange(0, dim, 2, dtype=np.int64).astype(F32) / F32(dim))
        extrap = F32(1.0) / pos_freqs
        interp = F32(1.0) / (F32(factor) * pos_freqs)
        ramp = np.clip((np.arange(dim // 2, dtype=F32) - F32(lo)) / F32(hi - lo), 0, 1).astype(F32)
        extrap_factor = F32(1) - ramp
        inv = interp * (1 - extrap_factor) + extrap * extrap_factor
        return inv.astype(F32), att
    if kind in (None, "default"):
        return default_inv_freq(theta, dim), 1.0
    raise ValueError(kind)


def rope_cos_sin(r, positions, lengths):
    """cos/sin [T, dim] where position t's frequencies are those of a forward of length lengths[t]."""
    cos, sin = [], []
    for p, length in zip(positions, lengths):
        inv, att = rope_params(r, length)
        freqs = F32(p) * inv
        emb = np.concatenate([freqs, freqs])
        cos.append((np.cos(emb) * F32(att)).astype(F32))
        sin.append((np.sin(emb) * F32(att)).astype(F32))
    return np.stack(cos), np.stack(sin)


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


# ---------------------------------------------------------------- forward

def rmsnorm(x, w, eps, gemma):
    variance = np.mean(x * x, axis=-1, keepdims=True, dtype=F32)
    y = (x * (F32(1.0) / np.sqrt(variance + F32(eps)))).astype(F32)
    return (y * (F32(1.0) + w) if gemma else w * y).astype(F32)


def act(name, x):
    if name in ("silu", "swish"):
        return (x / (F32(1.0) + np.exp(-x))).astype(F32)
    if name in ("gelu_pytorch_tanh", "gelu_new", "gelu_fast"):
        return (0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))).astype(F32)
    raise ValueError(name)


def linear(x, W, b=None, lora=None):
    y = x @ W.T
    if b is not None:
        y = y + b
    if lora is not None:
        A, B, scale = lora
        y = y + ((x @ A.T) @ B.T) * F32(scale)
    return y.astype(F32)


def forward(r, W, ids, lengths=None, loras=None):
    """Logits [T, vocab] of ids at positions 0..T-1; lengths[t] selects dynamic-rope frequencies per position."""
    loras = loras or {}
    T = len(ids)
    if lengths is None:
        lengths = [T] * T
    gemma = r["model_type"] in ("gemma", "gemma2")
    H, KV, D = r["heads"], r["kv"], r["head_dim"]
    x = W["model.embed_tokens.weight"][ids].astype(F32)
    if gemma:
        x = (x * F32(r["hidden_size"] ** 0.5)).astype(F32)
    cos, sin = rope_cos_sin(r, list(range(T)), lengths)
    for i in range(r["num_hidden_layers"]):
        p = f"model.layers.{i}."
        def lin(name, inp, bias):
            return linear(inp, W[p + name + ".weight"], W.get(p + name + ".bias") if bias else None,
                          loras.get(p + name + ".weight"))
        h = rmsnorm(x, W[p + "input_layernorm.weight"], r["eps"], gemma)
        q = lin("self_attn.q_proj", h, r["qkv_bias"]).reshape(T, H, D)
        k = lin("self_attn.k_proj", h, r["qkv_bias"]).reshape(T, KV, D)
        v = lin("self_attn.v_proj", h, r["qkv_bias"]).reshape(T, KV, D)
        q = (q * cos[:, None, :] + rotate_half(q) * sin[:, None, :]).astype(F32)
        k = (k * cos[:, None, :] + rotate_half(k) * sin[:, None, :]).astype(F32)
        rep = H // KV
        k = np.repeat(k, rep, axis=1)  # head h reads kv head h // rep
        v = np.repeat(v, rep, axis=1)
        scores = (np.einsum("thd,shd->hts", q, k) * F32(r["scaling"])).astype(F32)
        if r["attn_cap"]:
            scores = (np.tanh(scores / F32(r["attn_cap"])) * F32(r["attn_cap"])).astype(F32)
        qi = np.arange(T)[:, None]
        kj = np.arange(T)[None, :]
        visible = kj <= qi
        if r["windows"][i]:
            visible &= kj > qi - r["windows"][i]
        scores = np.where(visible[None], scores, np.finfo(F32).min).astype(F32)
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs = (probs / probs.sum(axis=-1, keepdims=True)).astype(F32)
        attn = np.einsum("hts,shd->thd", probs, v).reshape(T, H * D).astype(F32)
        o = lin("self_attn.o_proj", attn, r["o_bias"])
        if r["model_type"] == "gemma2":
            o = rmsnorm(o, W[p + "post_attention_layernorm.weight"], r["eps"], True)
            x = (x + o).astype(F32)
            h = rmsnorm(x, W[p + "pre_feedforward_layernorm.weight"], r["eps"], True)
        else:
            x = (x + o).astype(F32)
            h = rmsnorm(x, W[p + "post_attention_layernorm.weight"], r["eps"], gemma)
        g = lin("mlp.gate_proj", h, r["mlp_bias"])
        u = lin("mlp.up_proj", h, r["mlp_bias"])
        d = lin("mlp.down_proj", (act(r["act"], g) * u).astype(F32), r["mlp_bias"])
        if r["model_type"] == "gemma2":
            d = rmsnorm(d, W[p + "post_feedforward_layernorm.weight"], r["eps"], True)
        x = (x + d).astype(F32)
    x = rmsnorm(x, W["model.norm.weight"], r["eps"], gemma)
    head = W["model.embed_tokens.weight"] if r["tied"] else W["lm_head.weight"]
    logits = (x @ head.T).astype(F32)
    if r["final_cap"]:
        logits = (np.tanh(logits / F32(r["final_cap"])) * F32(r["final_cap"])).astype(F32)
    return logits


def greedy(r, W, prompt, steps, loras=None):
    """Greedy continuation as a KV-cached generator computes it: position t keeps the rope frequencies of the
    step that processed it (the prompt's length for prompt positions, t+1 for generated ones)."""
    ids = list(prompt)
    gaps = []
    for _ in range(steps):
        lengths = [len(prompt)] * len(prompt) + list(range(len(prompt) + 1, len(ids) + 1))
        last = forward(r, W, ids, lengths, loras)[-1]
        order = np.argsort(-last, kind="stable")
        gaps.append(float(last[order[0]] - last[order[1]]))
        ids.append(int(order[0]))
    return ids[len(prompt):], min(gaps)


# ---------------------------------------------------------------- checkpoints

def make_weights(r, rng, dtype):
    hidden, inter, vocab = r["hidden_size"], r["intermediate_size"], r["vocab_size"]
    H, KV, D = r["heads"], r["kv"], r["head_dim"]
    gemma = r["model_type"] in ("gemma", "gemma2")
    t = {}
    def mat(name, rows, cols, std=0.15):
        t[name] = (rng.standard_normal((rows, cols)) * std).astype(F32)
    def norm(name):
        base = 0.0 if gemma else 1.0
        t[name] = (base + 0.2 * rng.standard_normal(hidden)).astype(F32)
    def bias(name, n):
        t[name] = (0.1 * rng.standard_normal(n)).astype(F32)
    mat("model.embed_tokens.weight", vocab, hidden, 1.0)
    for i in range(r["num_hidden_layers"]):
        p = f"model.layers.{i}."
        norm(p + "input_layernorm.weight")
        norm(p + "post_attention_layernorm.weight")
        if r["model_type"] == "gemma2":
            norm(p + "pre_feedforward_layernorm.weight")
            norm(p + "post_feedforward_layernorm.weight")
        mat(p + "self_attn.q_proj.weight", H * D, hidden)
        mat(p + "self_attn.k_proj.weight", KV * D, hidden)
        mat(p + "self_attn.v_proj.weight", KV * D, hidden)
        mat(p + "self_attn.o_proj.weight", hidden, H * D)
        if r["qkv_bias"]:
            bias(p + "self_attn.q_proj.bias", H * D)
            bias(p + "self_attn.k_proj.bias", KV * D)
            bias(p + "self_attn.v_proj.bias", KV * D)
        if r["o_bias"]:
            bias(p + "self_attn.o_proj.bias", hidden)
        mat(p + "mlp.gate_proj.weight", inter, hidden)
        mat(p + "mlp.up_proj.weight", inter, hidden)
        mat(p + "mlp.down_proj.weight", hidden, inter)
        if r["mlp_bias"]:
            bias(p + "mlp.gate_proj.bias", inter)
            bias(p + "mlp.up_proj.bias", inter)
            bias(p + "mlp.down_proj.bias", hidden)
    norm("model.norm.weight")
    if not r["tied"]:
        mat("lm_head.weight", vocab, hidden, 0.15)
    # the model computes with the values as stored
    return {name: stored_values(a, dtype) for name, a in t.items()}


def save_model(directory, cfg, weights, dtype, shards, generation_config=None):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    if generation_config is not None:
        with open(os.path.join(directory, "generation_config.json"), "w") as f:
            json.dump(generation_config, f, indent=2)
    names = sorted(weights)
    if shards == 1:
        write_safetensors(os.path.join(directory, "model.safetensors"), {n: (weights[n], dtype) for n in names})
        return
    weight_map = {}
    per = (len(names) + shards - 1) // shards
    for s in range(shards):
        part = names[s * per:(s + 1) * per]
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(directory, fname), {n: (weights[n], dtype) for n in part})
        for n in part:
            weight_map[n] = fname
    total = sum(weights[n].size * (2 if dtype != "F32" else 4) for n in names)
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def make_adapter(directory, r, rng, targets, rank, alpha, rslora=False, rank_pattern=None, alpha_pattern=None):
    """A PEFT adapter over `targets` (module names); returns base tensor name -> (A, B, scale)."""
    rank_pattern = rank_pattern or {}
    alpha_pattern = alpha_pattern or {}
    import re
    def pattern_value(patterns, module, default):
        for key, value in patterns.items():
            if re.fullmatch(r"(.*\.)?(" + key + r")$", module):
                return value
        return default
    tensors, loras = {}, {}
    W_shapes = {"q_proj": (r["heads"] * r["head_dim"], r["hidden_size"]),
                "k_proj": (r["kv"] * r["head_dim"], r["hidden_size"]),
                "v_proj": (r["kv"] * r["head_dim"], r["hidden_size"]),
                "o_proj": (r["hidden_size"], r["heads"] * r["head_dim"]),
                "gate_proj": (r["intermediate_size"], r["hidden_size"]),
                "up_proj": (r["intermediate_size"], r["hidden_size"]),
                "down_proj": (r["hidden_size"], r["intermediate_size"])}
    for i in range(r["num_hidden_layers"]):
        for target in targets:
            group = "mlp" if target.endswith(("gate_proj", "up_proj", "down_proj")) else "self_attn"
            module = f"model.layers.{i}.{group}.{target}"
            out, inp = W_shapes[target]
            rk = pattern_value(rank_pattern, module, rank)
            al = pattern_value(alpha_pattern, module, alpha)
            A = (rng.standard_normal((rk, inp)) * 0.1).astype(F32)
            B = (rng.standard_normal((out, rk)) * 0.05).astype(F32)
            tensors[f"base_model.model.{module}.lora_A.weight"] = (A, "F32")
            tensors[f"base_model.model.{module}.lora_B.weight"] = (B, "F32")
            scale = al / math.sqrt(rk) if rslora else al / rk
            loras[module + ".weight"] = (A, B, scale)
    os.makedirs(directory, exist_ok=True)
    cfg = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "tiny", "r": rank,
           "lora_alpha": alpha, "lora_dropout": 0.0, "target_modules": targets, "bias": "none",
           "fan_in_fan_out": False, "use_rslora": rslora, "rank_pattern": rank_pattern,
           "alpha_pattern": alpha_pattern, "use_dora": False, "inference_mode": True}
    with open(os.path.join(directory, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(directory, "adapter_model.safetensors"), tensors)
    return loras


def merged_weights(W, loras, dtype):
    out = dict(W)
    for name, (A, B, scale) in loras.items():
        out[name] = stored_values((W[name] + F32(scale) * (B @ A)).astype(F32), dtype)
    return out


BASE = {"vocab_size": 256, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
        "bos_token_id": 1, "eos_token_id": 2}

CASES = [
    # name, config overrides, dtype, shards, sequence length, generation_config
    ("llama_f32_gqa", {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "rms_norm_eps": 1e-5,
                       "tie_word_embeddings": False, "torch_dtype": "float32"}, "F32", 1, 12, None),
    ("llama31_bf16_tied_sharded", {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                   "rms_norm_eps": 1e-5, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
                                   "rope_theta": 10000.0,
                                   "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                    "high_freq_factor": 4.0,
                                                    "original_max_position_embeddings": 32}},
     "BF16", 3, 12, {"eos_token_id": [2, 5], "bos_token_id": 1}),
    ("llama_linear_f16_bias", {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                               "num_key_value_heads": 4, "head_dim": 32, "attention_bias": True, "mlp_bias": True,
                               "rope_scaling": {"type": "linear", "factor": 2.0}, "torch_dtype": "float16"},
     "F16", 1, 10, None),
    ("llama_dynamic_f32", {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                           "max_position_embeddings": 8, "rope_scaling": {"rope_type": "dynamic", "factor": 2.0},
                           "torch_dtype": "float32"}, "F32", 1, 14, None),
    ("qwen2_yarn_bf16_window", {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
                                "tie_word_embeddings": True, "use_sliding_window": True, "sliding_window": 6,
                                "max_window_layers": 1, "torch_dtype": "bfloat16",
                                "rope_scaling": {"rope_type": "yarn", "factor": 4.0,
                                                 "original_max_position_embeddings": 16}},
     "BF16", 1, 16, None),
    ("mistral_f32_window_mqa", {"architectures": ["MistralForCausalLM"], "model_type": "mistral",
                                "num_key_value_heads": 1, "sliding_window": 5, "torch_dtype": "float32"},
     "F32", 2, 20, None),
    ("gemma_bf16", {"architectures": ["GemmaForCausalLM"], "model_type": "gemma", "num_attention_heads": 2,
                    "num_key_value_heads": 1, "head_dim": 32, "hidden_act": "gelu", "torch_dtype": "bfloat16"},
     "BF16", 1, 12, None),
    ("gemma2_bf16_softcap_window", {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2",
                                    "head_dim": 16, "sliding_window": 4, "query_pre_attn_scalar": 24,
                                    "attn_logit_softcapping": 2.0, "final_logit_softcapping": 20.0,
                                    "torch_dtype": "bfloat16"}, "BF16", 1, 20, None),
    # the other dtype of each family (appended so the cases above keep their random weights)
    ("qwen2_f32_window", {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "use_sliding_window": True,
                          "sliding_window": 5, "max_window_layers": 0, "torch_dtype": "float32"}, "F32", 2, 14, None),
    ("mistral_bf16_window", {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "sliding_window": 4,
                             "rope_theta": 1000000.0, "torch_dtype": "bfloat16"}, "BF16", 1, 14, None),
    ("gemma_f32", {"architectures": ["GemmaForCausalLM"], "model_type": "gemma", "head_dim": 16,
                   "torch_dtype": "float32"}, "F32", 1, 12, None),
    ("gemma2_f32_softcap_window", {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "head_dim": 16,
                                   "sliding_window": 3, "torch_dtype": "float32"}, "F32", 2, 16, None),
]

GREEDY_PROMPTS = [[1, 17, 42, 99], [1, 200, 3], [1, 5, 6, 7, 8, 9, 10]]
GREEDY_STEPS = 8


def expected_file(path, tensors):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_safetensors(path, {name: (np.asarray(a, dtype=F32), "F32") for name, a in tensors.items()})


def greedy_tensors(r, W, loras=None):
    out = {}
    worst_gap = float("inf")
    for n, prompt in enumerate(GREEDY_PROMPTS):
        ids, gap = greedy(r, W, prompt, GREEDY_STEPS, loras)
        worst_gap = min(worst_gap, gap)
        out[f"greedy_prompt_{n}"] = np.array(prompt, dtype=F32)
        out[f"greedy_ids_{n}"] = np.array(ids, dtype=F32)
    # the engine agrees with this reference to ~1e-5, so a gap of 1e-4 cannot flip an argmax
    assert worst_gap > 1e-4, f"greedy top-2 gap {worst_gap} too small for a stable test"
    return out


def main():
    out_dir = sys.argv[1]
    rng = np.random.default_rng(20261128)
    summary = {}
    for name, overrides, dtype, shards, length, gen_cfg in CASES:
        cfg = dict(BASE)
        cfg.update(overrides)
        r = resolve(cfg)
        W = make_weights(r, rng, dtype)
        save_model(os.path.join(out_dir, "models", name), cfg, W, dtype, shards, gen_cfg)
        ids = rng.integers(0, cfg["vocab_size"], size=length)
        ids[0] = 1
        tensors = {"ids": ids.astype(F32), "logits": forward(r, W, list(ids))}
        tensors.update(greedy_tensors(r, W))
        expected_file(os.path.join(out_dir, "expected", name + ".safetensors"), tensors)
        summary[name] = float(np.abs(tensors["logits"]).max())

        if name == "llama_f32_gqa":
            loras = make_adapter(os.path.join(out_dir, "adapters", "lora_llama"), r, rng,
                                 ["q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"], rank=4, alpha=8)
            t = {"ids": ids.astype(F32), "logits": forward(r, W, list(ids), loras=loras)}
            t["logits_merged"] = forward(r, merged_weights(W, loras, dtype), list(ids))
            t.update(greedy_tensors(r, W, loras))
            expected_file(os.path.join(out_dir, "expected", "lora_llama.safetensors"), t)
        if name == "qwen2_yarn_bf16_window":
            loras = make_adapter(os.path.join(out_dir, "adapters", "rslora_qwen2"), r, rng,
                                 ["q_proj", "k_proj", "v_proj", "up_proj"], rank=8, alpha=16, rslora=True,
                                 rank_pattern={"layers.1.self_attn.k_proj": 4}, alpha_pattern={"up_proj": 4})
            t = {"ids": ids.astype(F32), "logits": forward(r, W, list(ids), loras=loras)}
            t["logits_merged"] = forward(r, merged_weights(W, loras, dtype), list(ids))
            t.update(greedy_tensors(r, W, loras))
            expected_file(os.path.join(out_dir, "expected", "rslora_qwen2.safetensors"), t)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""End-to-end golden merges: tiny Llama-layout models, mergekit YAML configs and the expected output of every tensor.
The planning rules (slices, t per layer, filters, parameter lookup order, base model appended, embeddings at t = 0,
tied lm_head, vocabulary-size rules) follow the mergekit study (shared refs/mergekit.md, sections 3 and 6); the
per-tensor arithmetic reuses method_fixtures.py.

Run: python3 merge_fixtures.py > ../resources/dev/safemerge/merge/merge-fixtures.json
"""
import json
import re
import sys

import numpy as np

import method_fixtures as mf

F32 = np.float32
H, I, LAYERS = 8, 16, 4
rng = np.random.default_rng(7)

LAYER_TENSORS = {
    "input_layernorm.weight": (H,), "self_attn.q_proj.weight": (H, H), "self_attn.k_proj.weight": (H, H),
    "self_attn.v_proj.weight": (H, H), "self_attn.o_proj.weight": (H, H), "mlp.gate_proj.weight": (I, H),
    "mlp.up_proj.weight": (I, H), "mlp.down_proj.weight": (H, I), "post_attention_layernorm.weight": (H,),
}


def make_model(dtype, vocab=32, lm_head=True, base=None, scale=0.05):
    R = mf.rounder(dtype)
    shapes = {"model.embed_tokens.weight": (vocab, H), "model.norm.weight": (H,)}
    if lm_head:
        shapes["lm_head.weight"] = (vocab, H)
    for layer in range(LAYERS):
        for suffix, shape in LAYER_TENSORS.items():
            shapes[f"model.layers.{layer}.{suffix}"] = shape
    model = {}
    for name, shape in shapes.items():
        if base is not None and name in base and base[name].shape == shape:
            v = base[name] + rng.standard_normal(shape).astype(F32) * F32(scale)
        elif base is not None and name in base:
            # a larger vocabulary: the base rows perturbed, new rows random
            v = rng.standard_normal(shape).astype(F32) * F32(0.5)
            rows = min(shape[0], base[name].shape[0])
            v[:rows] = base[name][:rows] + rng.standard_normal((rows,) + shape[1:]).astype(F32) * F32(scale)
        else:
            v = rng.standard_normal(shape).astype(F32) * F32(0.5)
        model[name] = R(v)
    return model


LAYER_RE = re.compile(r"^(model\.layers\.)(\d+)(\..+)$")


def evaluate(setting, name, t):
    if setting is None:
        return None
    if isinstance(setting, (int, float)):
        return float(setting)
    if isinstance(setting, list) and setting and isinstance(setting[0], dict):
        for cond in setting:
            f = cond.get("filter")
            if f is None or f == "*" or f in name:
                return evaluate(cond["value"], name, t)
        return None
    if isinstance(setting, list):
        n = len(setting)
        x = t * (n - 1)
        i0 = int(x)
        i1 = min(n - 1, i0 + 1)
        frac = x - i0
        return (1 - frac) * setting[i0] + frac * setting[i1]
    if isinstance(setting, dict):
        return evaluate([setting], name, t)
    raise ValueError(setting)


def lookup(name, tensor, t, *levels):
    for level in levels:
        v = evaluate((level or {}).get(name), tensor, t)
        if v is not None:
            return v
    return None


METHOD_PARAMS = {
    # name: (global {param: default}, per-model {param: default}, REQUIRED marker None)
    "linear": ({"normalize": 1.0}, {"weight": "required"}),
    "slerp": ({"t": "required"}, {}),
    "task_arithmetic": ({"normalize": 0.0, "rescale": 0.0, "lambda": 1.0, "int8_mask": 0.0},
                        {"weight": "required", "density": 1.0}),
    "ties": ({"normalize": 1.0, "rescale": 0.0, "lambda": 1.0, "int8_mask": 0.0},
             {"weight": "required", "density": 1.0}),
    "model_stock": ({"filter_wise": 0.0}, {}),
    "passthrough": ({}, {"scale": None}),
}


def merge_tensor(method, dtype, out_name, shape, inputs, base_index, glob):
    """inputs: list of (model, values (already cut), params)."""
    R = mf.rounder(dtype)
    vals = [v for _, v, _ in inputs]
    if method == "linear":
        return mf.linear(vals, [p["weight"] for _, _, p in inputs], glob["normalize"] != 0, R)
    if method == "slerp":
        if len(inputs) == 1:
            return vals[0]
        other = [v for i, v in enumerate(vals) if i != base_index][0]
        return mf.slerp(glob["t"], vals[base_index], other, R)
    if method in ("task_arithmetic", "ties"):
        base = vals[base_index]
        models = [(m, v) for i, (m, v, _) in enumerate(inputs) if i != base_index]
        params = {m: p for m, _, p in inputs}
        g = {"normalize": glob["normalize"] != 0, "rescale": glob["rescale"] != 0, "lambda": glob["lambda"]}
        return mf.gta(base, models, params, g, "magnitude" if method == "ties" else None, method == "ties", None,
                      shape, dtype, R)
    if method == "model_stock":
        base = vals[base_index]
        others = [v for i, v in enumerate(vals) if i != base_index]
        return mf.model_stock(base, others, glob["filter_wise"] != 0, shape, R)
    if method == "passthrough":
        assert len(inputs) == 1
        return mf.passthrough(vals[0], inputs[0][2].get("scale"), R)
    raise ValueError(method)


def plan_and_merge(config, models):
    method = config["merge_method"]
    dtype = config.get("dtype", "bfloat16")
    out_dtype = config.get("out_dtype")
    gspec, mspec = METHOD_PARAMS[method]
    top = config.get("parameters", {})
    base = config.get("base_model")
    if "models" in config:
        entries = list(config["models"])
        if base and base not in [e["model"] for e in entries]:
            entries.append({"model": base})
        slices = [{"sources": [{"model": e["model"], "layer_range": [0, LAYERS], "parameters": e.get("parameters", {})}
                               for e in entries], "base_model": base, "parameters": {}}]
    else:
        slices = [{"sources": s["sources"], "base_model": s.get("base_model", base),
                   "parameters": s.get("parameters", {})} for s in config["slices"]]

    def task(out_name, sl, names, t):
        inputs = []
        base_index = -1
        for src, in_name in zip(sl["sources"], names):
            m = models[src["model"]]
            if in_name == "lm_head.weight" and in_name not in m:
                in_name = "model.embed_tokens.weight"
            if src["model"] == sl["base_model"]:
                base_index = len(inputs)
            params = {}
            for p, default in mspec.items():
                v = lookup(p, in_name, t, src.get("parameters"), sl["parameters"], top)
                if v is None and default not in ("required", None):
                    v = default
                if v is not None:
                    params[p] = v
            inputs.append((src["model"], m[in_name], params))
        glob = {}
        for p, default in gspec.items():
            v = lookup(p, out_name, t, sl["parameters"], top)
            glob[p] = default if v is None else v
        shapes = [v.shape for _, v, _ in inputs]
        shape = shapes[0]
        if len(set(shapes)) > 1:  # vocabulary mismatch of an embedding
            if method in ("task_arithmetic", "ties"):
                shape = shapes[base_index]
            else:
                shape = (min(s[0] for s in shapes), min(s[1] for s in shapes))
            inputs = [(m, v[:shape[0], :shape[1]], p) for m, v, p in inputs]
        flat = [(m, v.reshape(-1).astype(F32), p) for m, v, p in inputs]
        res = merge_tensor(method, dtype, out_name, shape, flat, base_index, glob)
        if out_dtype == "bfloat16":
            res = mf.bf16(res)
        return {"name": out_name, "shape": list(shape), "values": np.asarray(res, F32).tolist()}

    outputs = []
    out_layer = 0
    for sl in slices:
        n = sl["sources"][0]["layer_range"][1] - sl["sources"][0]["layer_range"][0]
        for k in range(n):
            t = 1.0 if n == 1 else k / (n - 1)
            for suffix in LAYER_TENSORS:
                names = [f"model.layers.{s['layer_range'][0] + k}.{suffix}" for s in sl["sources"]]
                outputs.append(task(f"model.layers.{out_layer + k}.{suffix}", sl, names, t))
        out_layer += n
    ref = models[slices[0]["base_model"] or slices[0]["sources"][0]["model"]]
    post = ["model.norm.weight"]
    if any("lm_head.weight" in models[s["model"]] for s in slices[-1]["sources"]):
        post.append("lm_head.weight")
    outputs.append(task("model.embed_tokens.weight", slices[0], ["model.embed_tokens.weight"] * len(slices[0]["sources"]), 0.0))
    for name in post:
        outputs.append(task(name, slices[-1], [name] * len(slices[-1]["sources"]), 0.0))
    return sorted(outputs, key=lambda o: o["name"]), out_layer


def dump_model(model):
    return {name: {"shape": list(v.shape), "values": v.reshape(-1).astype(F32).tolist()} for name, v in model.items()}


cases = []


def case(name, config, models, stored_dtype="bfloat16"):
    outputs, layers = plan_and_merge(config, models)
    cases.append({"name": name, "config": config, "stored_dtype": stored_dtype,
                  "models": {k: dump_model(v) for k, v in models.items()},
                  "expected": outputs, "output_layers": layers})


base = make_model("bfloat16")
ft1 = make_model("bfloat16", base=base)
ft2 = make_model("bfloat16", base=base)
ft3 = make_model("bfloat16", base=base)

case("linear gradient weights with filters, base appended", {
    "merge_method": "linear", "base_model": "base", "dtype": "bfloat16",
    "models": [{"model": "ft1", "parameters": {"weight": [{"filter": "self_attn", "value": [0.2, 0.8]},
                                                            {"filter": "mlp", "value": 0.7}, {"value": 0.5}]}},
               {"model": "ft2", "parameters": {"weight": 0.3}}],
    "parameters": {"weight": 0.25}}, {"base": base, "ft1": ft1, "ft2": ft2})

case("slerp classic gradient and filters", {
    "merge_method": "slerp", "base_model": "base", "dtype": "bfloat16",
    "models": [{"model": "base"}, {"model": "ft1"}],
    "parameters": {"t": [{"filter": "self_attn", "value": [0, 0.5, 0.3, 0.7, 1]},
                         {"filter": "mlp", "value": [1, 0.5, 0.7, 0.3, 0]}, {"value": 0.5}]}},
    {"base": base, "ft1": ft1})

case("ties with slices: t restarts per slice, slice parameters override top level", {
    "merge_method": "ties", "base_model": "base", "dtype": "float32", "out_dtype": "bfloat16",
    "slices": [
        {"sources": [{"model": "base", "layer_range": [0, 2]},
                     {"model": "ft1", "layer_range": [0, 2], "parameters": {"weight": [0.2, 1.0], "density": 0.5}},
                     {"model": "ft2", "layer_range": [0, 2], "parameters": {"weight": 0.6}}],
         "parameters": {"density": 0.7}},
        {"sources": [{"model": "base", "layer_range": [2, 4]},
                     {"model": "ft1", "layer_range": [2, 4], "parameters": {"weight": 0.4}},
                     {"model": "ft2", "layer_range": [2, 4], "parameters": {"weight": [1.0, 0.1]}}]}],
    "parameters": {"density": 0.9, "normalize": True}},
    {"base": base, "ft1": ft1, "ft2": ft2})

case("passthrough frankenmerge with a scale filter", {
    "merge_method": "passthrough", "dtype": "bfloat16",
    "slices": [{"sources": [{"model": "ft1", "layer_range": [0, 3]}]},
               {"sources": [{"model": "ft2", "layer_range": [1, 4],
                             "parameters": {"scale": [{"filter": "down_proj", "value": 0.5}, {"value": 1.0}]}}]}]},
    {"ft1": ft1, "ft2": ft2})

case("model_stock with three fine-tuned models", {
    "merge_method": "model_stock", "base_model": "base", "dtype": "bfloat16",
    "models": [{"model": "ft1"}, {"model": "ft2"}, {"model": "ft3"}]},
    {"base": base, "ft1": ft1, "ft2": ft2, "ft3": ft3})

big_vocab = make_model("bfloat16", vocab=40, base=base)
case("linear with a larger vocabulary: common top-left block", {
    "merge_method": "linear", "dtype": "bfloat16",
    "models": [{"model": "base", "parameters": {"weight": 0.5}}, {"model": "big", "parameters": {"weight": 0.5}}]},
    {"base": base, "big": big_vocab})

case("task_arithmetic with a larger vocabulary: cut to the base", {
    "merge_method": "task_arithmetic", "base_model": "base", "dtype": "bfloat16",
    "models": [{"model": "big", "parameters": {"weight": 0.7}}], "parameters": {"lambda": 0.5}},
    {"base": base, "big": big_vocab})

untied = make_model("bfloat16", lm_head=False, base=base)
case("tied lm_head: a model without one contributes its embedding", {
    "merge_method": "linear", "dtype": "bfloat16",
    "models": [{"model": "base", "parameters": {"weight": 0.6}}, {"model": "tied", "parameters": {"weight": 0.4}}]},
    {"base": base, "tied": untied})

case("ties in bfloat16 with one fine-tuned model: the fused single-model path", {
    "merge_method": "ties", "base_model": "base", "dtype": "bfloat16",
    "models": [{"model": "ft1", "parameters": {"weight": 0.8, "density": 0.6}}],
    "parameters": {"normalize": True, "lambda": 0.9}},
    {"base": base, "ft1": ft1})

case("ties in bfloat16 with two fine-tuned models: the general blocked path from stored bytes", {
    "merge_method": "ties", "base_model": "base", "dtype": "bfloat16",
    "models": [{"model": "ft1", "parameters": {"weight": 0.7, "density": 0.5}},
               {"model": "ft2", "parameters": {"weight": 0.5, "density": 0.8}}],
    "parameters": {"normalize": False}},
    {"base": base, "ft1": ft1, "ft2": ft2})

json.dump({"generator": "src/test/python/merge_fixtures.py", "cases": cases}, sys.stdout, separators=(",", ":"))

#!/usr/bin/env python3
"""Applies an adapter written by safemerge finetune the way PEFT does, independently of the Java code, and writes
the resulting logits for the tests to compare with the engine's --adapter path.

PEFT semantics implemented here (peft/tuners/lora/{config,layer}.py, utils/save_and_load.py): keys
base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r]; scale lora_alpha/r, or
lora_alpha/sqrt(r) with use_rslora; forward y = base(x) + scale * B(A(x)) (dropout is identity in eval). The base
model forward is the numpy reference of reference_forward.py.

Usage (from the repository root):
    python3 safemerge-model/src/test/python/peft_lora_check.py \
        safemerge-model/src/test/resources/reference/models/llama_f32_gqa \
        safemerge-model/src/test/resources/dev/safemerge/model/train/peft/adapter \
        > safemerge-model/src/test/resources/dev/safemerge/model/train/peft/expected_logits.json
"""
import json
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_forward as ref  # noqa: E402

IDS = [1, 12, 3, 24, 36, 2, 15, 3, 30]


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        chunk = data[begin:end]
        if info["dtype"] == "F32":
            array = np.frombuffer(chunk, dtype="<f4")
        elif info["dtype"] == "F16":
            array = np.frombuffer(chunk, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            array = (np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(info["dtype"])
        out[name] = array.reshape(info["shape"]).astype(np.float32)
    return out


def peft_loras(adapter_dir):
    with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
        cfg = json.load(f)
    assert cfg["peft_type"] == "LORA" and cfg.get("bias", "none") == "none" and not cfg.get("use_dora", False)
    tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    r, alpha = cfg["r"], cfg["lora_alpha"]
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora", False) else alpha / r
    prefix = "base_model.model."
    loras = {}
    for key, a in tensors.items():
        if not key.endswith(".lora_A.weight"):
            continue
        module = key[len(prefix):-len(".lora_A.weight")]
        assert module.split(".")[-1] in cfg["target_modules"], module
        b = tensors[prefix + module + ".lora_B.weight"]
        assert a.shape[0] == r and b.shape[1] == r
        loras[module + ".weight"] = (a, b, scale)
    return loras


def main():
    model_dir, adapter_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    weights = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    loras = peft_loras(adapter_dir)
    r = ref.resolve(cfg)
    with_adapter = ref.forward(r, weights, IDS, loras=loras)
    base = ref.forward(r, weights, IDS)
    print(json.dumps({"ids": IDS, "modules": sorted(loras), "logits": with_adapter.tolist(),
                      "base_logits": base.tolist()}))


if __name__ == "__main__":
    main()

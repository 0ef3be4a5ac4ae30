#!/usr/bin/env python3
"""Writes the safetensors and PEFT fixtures for safemerge-tensor's tests, independently of the Java code.

The safetensors container is written byte by byte from the format description (8-byte little-endian header
length, compact JSON header with __metadata__ first, tensors ordered by descending dtype alignment then name,
header padded with spaces to a multiple of 8), with numpy only for the element bytes. bfloat16 rounding is done
here with integer arithmetic (round to nearest even), float16 by numpy.

Run from the repository root:  python3 safemerge-tensor/src/test/python/make_fixtures.py
Outputs go to safemerge-tensor/src/test/resources/fixtures/ and are deterministic (fixed seeds).
"""
import json
import math
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures")

# The reference writer's dtype order (increasing alignment); files list tensors from the last to the first.
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ",
               "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
ITEM_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "F8_E4M3FNUZ": 1,
             "F8_E5M2FNUZ": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4,
             "C64": 8, "F64": 8, "I64": 8, "U64": 8}


def bf16_bits(values):
    """float32 values -> bfloat16 bit patterns, round to nearest even, NaN kept quiet."""
    bits = np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    out = []
    for b in bits.ravel().tolist():
        if (b & 0x7FFFFFFF) > 0x7F800000:
            out.append(((b >> 16) | 0x40) & 0xFFFF)
        else:
            out.append(((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF)
    return np.array(out, dtype="<u2").reshape(np.shape(values))


def bf16_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


def encode(dtype, values):
    """Little-endian element bytes of float values in a float dtype."""
    values = np.asarray(values, dtype=np.float64)
    if dtype == "F32":
        return values.astype("<f4").tobytes()
    if dtype == "F64":
        return values.astype("<f8").tobytes()
    if dtype == "F16":
        return values.astype(np.float32).astype("<f2").tobytes()
    if dtype == "BF16":
        return bf16_bits(values.astype(np.float32)).tobytes()
    raise ValueError(dtype)


def decode(dtype, raw, shape):
    """Element bytes of a float dtype -> float32 values."""
    if dtype == "F32":
        return np.frombuffer(raw, "<f4").reshape(shape).astype(np.float32)
    if dtype == "F64":
        return np.frombuffer(raw, "<f8").reshape(shape).astype(np.float32)
    if dtype == "F16":
        return np.frombuffer(raw, "<f2").reshape(shape).astype(np.float32)
    if dtype == "BF16":
        return bf16_to_f32(np.frombuffer(raw, "<u2")).reshape(shape)
    raise ValueError(dtype)


def json_string(s):
    # json.dumps with ensure_ascii=False escapes exactly like serde_json: \" \\ \b \f \n \r \t, else \u00xx.
    return json.dumps(s, ensure_ascii=False)


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    order = sorted(tensors, key=lambda t: (-DTYPE_ORDER.index(t[1]), t[0]))
    parts = []
    if metadata:
        parts.append('"__metadata__":{' + ",".join(
            json_string(k) + ":" + json_string(metadata[k]) for k in sorted(metadata)) + "}")
    offset = 0
    for name, dtype, shape, raw in order:
        count = math.prod(shape)
        assert len(raw) == count * ITEM_SIZE[dtype], name
        parts.append(json_string(name) + ':{"dtype":"' + dtype + '","shape":[' + ",".join(str(d) for d in shape)
                     + '],"data_offsets":[' + str(offset) + "," + str(offset + len(raw)) + "]}")
        offset += len(raw)
    header = ("{" + ",".join(parts) + "}").encode("utf-8")
    header += b" " * (-len(header) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for _, _, _, raw in order:
            f.write(raw)


def dtype_fixture():
    rng = np.random.default_rng(20261128)
    special = [0.0, -0.0, 1.0, -2.5, float("inf"), float("-inf"), float("nan"), 1e-40, -1e-45, 3.4e38,
               65504.0, 65520.0, 6.0e-8, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8, 1e-5]
    floats = np.array(special + rng.normal(0, 3, 48).tolist(), dtype=np.float64).reshape(4, 16)
    tensors = []
    expected = {}
    for dtype in ["F64", "F32", "F16", "BF16"]:
        raw = encode(dtype, floats)
        name = "float." + dtype.lower()
        tensors.append((name, dtype, [4, 16], raw))
        expected[name] = [int(v) for v in decode(dtype, raw, [4, 16]).view(np.uint32).ravel()]
    ints = {
        "BOOL": np.array([1, 0, 1, 1, 0, 0, 1], dtype=np.uint8),
        "U8": rng.integers(0, 256, (3, 5), dtype=np.uint8),
        "I8": rng.integers(-128, 128, (3, 5), dtype=np.int8),
        "F8_E5M2": rng.integers(0, 256, (6,), dtype=np.uint8),
        "F8_E4M3": rng.integers(0, 256, (2, 3), dtype=np.uint8),
        "I16": rng.integers(-2 ** 15, 2 ** 15, (5,), dtype=np.int16).astype("<i2"),
        "U16": rng.integers(0, 2 ** 16, (5,), dtype=np.uint16).astype("<u2"),
        "I32": rng.integers(-2 ** 31, 2 ** 31, (2, 2), dtype=np.int32).astype("<i4"),
        "U32": rng.integers(0, 2 ** 32, (3,), dtype=np.uint32).astype("<u4"),
        "I64": rng.integers(-2 ** 63, 2 ** 63 - 1, (3,), dtype=np.int64).astype("<i8"),
        "U64": rng.integers(0, 2 ** 63, (2,), dtype=np.uint64).astype("<u8"),
    }
    raw_hex = {}
    for dtype, array in ints.items():
        name = "pass." + dtype.lower()
        raw = array.tobytes()
        tensors.append((name, dtype, list(array.shape), raw))
        raw_hex[name] = raw.hex()
    # Rank 0, zero-sized, and names that need JSON escapes or are not ASCII.
    tensors.append(("scalar", "F32", [], encode("F32", [7.25])))
    expected["scalar"] = [int(np.float32(7.25).view(np.uint32))]
    tensors.append(("empty", "BF16", [0, 4], b""))
    expected["empty"] = []
    tensors.append(("name \"quoted\"\\ \t ü 模型", "F16", [2], encode("F16", [0.5, -0.25])))
    expected["name \"quoted\"\\ \t ü 模型"] = [int(v) for v in np.array([0.5, -0.25], np.float32).view(np.uint32)]
    write_safetensors(os.path.join(OUT, "dtypes.safetensors"), tensors, {"format": "pt", "source": "numpy"})
    shapes = {name: shape for name, _, shape, _ in tensors}
    dtypes = {name: dtype for name, dtype, _, _ in tensors}
    with open(os.path.join(OUT, "dtypes.expected.json"), "w", encoding="utf-8") as f:
        json.dump({"float_bits": expected, "raw_hex": raw_hex, "shapes": shapes, "dtypes": dtypes}, f,
                  ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


def peft_fixture():
    rng = np.random.default_rng(7)
    llama_config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 16,
                    "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2, "num_attention_heads": 2,
                    "num_key_value_heads": 1, "torch_dtype": "bfloat16"}
    base = {  # name -> (dtype, shape)
        "model.layers.0.self_attn.q_proj.weight": ("BF16", [8, 8]),
        "model.layers.0.self_attn.v_proj.weight": ("BF16", [4, 8]),
        "model.layers.1.self_attn.q_proj.weight": ("BF16", [8, 8]),
        "model.layers.1.self_attn.v_proj.weight": ("F32", [4, 8]),
        "model.layers.0.mlp.down_proj.weight": ("F16", [8, 12]),
        "model.layers.1.mlp.down_proj.weight": ("F16", [8, 12]),
        "lm_head.weight": ("BF16", [16, 8]),
        "model.norm.weight": ("BF16", [8]),
    }
    base_values = {}
    tensors = []
    for name, (dtype, shape) in base.items():
        raw = encode(dtype, rng.normal(0, 1, shape))
        base_values[name] = decode(dtype, raw, shape)
        tensors.append((name, dtype, shape, raw))
    base_dir = os.path.join(OUT, "peft", "base")
    write_safetensors(os.path.join(base_dir, "model.safetensors"), tensors, {"format": "pt"})
    with open(os.path.join(base_dir, "config.json"), "w") as f:
        json.dump(llama_config, f, indent=2)

    # rsLoRA with rank_pattern, alpha_pattern and modules_to_save.
    r, alpha = 4, 8
    rank_pattern = {"layers.1.self_attn.q_proj": 2, "down_proj": 3}
    alpha_pattern = {"v_proj": 16}
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "tiny-llama", "r": r,
              "lora_alpha": alpha, "target_modules": ["q_proj", "v_proj", "down_proj"], "use_rslora": True,
              "rank_pattern": rank_pattern, "alpha_pattern": alpha_pattern, "fan_in_fan_out": False,
              "lora_dropout": 0.05, "bias": "none", "modules_to_save": ["lm_head"], "use_dora": False,
              "inference_mode": True, "layers_to_transform": None, "init_lora_weights": True}

    def first_match(pattern, module):
        import re
        for key in pattern:
            if re.match(r"(.*\.)?(" + key + r")$", module):
                return pattern[key]
        return None

    adapter_tensors = []
    expected = {name: base_values[name].astype(np.float32) for name in base}
    for name in ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.v_proj.weight",
                 "model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.v_proj.weight",
                 "model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight"]:
        module = name[: -len(".weight")]
        rank = first_match(rank_pattern, module) or r
        module_alpha = first_match(alpha_pattern, module) or alpha
        scale = module_alpha / math.sqrt(rank)
        out_features, in_features = base[name][1]
        a = rng.normal(0, 0.5, (rank, in_features)).astype(np.float32)
        b = rng.normal(0, 0.5, (out_features, rank)).astype(np.float32)
        b_dtype = "BF16" if "layers.1.mlp" in name else "F32"
        b_raw = encode(b_dtype, b)
        b = decode(b_dtype, b_raw, b.shape)
        adapter_tensors.append(("base_model.model." + module + ".lora_A.weight", "F32", list(a.shape),
                                encode("F32", a)))
        adapter_tensors.append(("base_model.model." + module + ".lora_B.weight", b_dtype, list(b.shape), b_raw))
        delta = (b.astype(np.float64) @ a.astype(np.float64)) * scale
        expected[name] = (expected[name].astype(np.float64) + delta).astype(np.float32)
    lm_head = rng.normal(0, 1, (16, 8)).astype(np.float32)
    adapter_tensors.append(("base_model.model.lm_head.weight", "F32", [16, 8], encode("F32", lm_head)))
    expected["lm_head.weight"] = lm_head
    adapter_dir = os.path.join(OUT, "peft", "adapter_rslora")
    write_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), adapter_tensors, {"format": "pt"})
    with open(os.path.join(adapter_dir, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(os.path.join(OUT, "peft", "expected_rslora.safetensors"),
                      [(n, "F32", list(v.shape), encode("F32", v)) for n, v in expected.items()])

    # fan_in_fan_out (Conv1D weights stored [in, out]), plain alpha/r, regex target_modules, adapter-name keys.
    conv = {"transformer.h.0.attn.c_attn.weight": ("F32", [8, 24]),
            "transformer.h.0.mlp.c_fc.weight": ("BF16", [8, 16]),
            "transformer.h.0.ln_1.weight": ("F32", [8])}
    conv_values = {}
    conv_tensors = []
    for name, (dtype, shape) in conv.items():
        raw = encode(dtype, rng.normal(0, 1, shape))
        conv_values[name] = decode(dtype, raw, shape)
        conv_tensors.append((name, dtype, shape, raw))
    write_safetensors(os.path.join(OUT, "peft", "conv1d_base.safetensors"), conv_tensors, {"format": "pt"})
    r2, alpha2 = 2, 3
    conv_config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r2, "lora_alpha": alpha2,
                   "target_modules": r".*\.(c_attn|c_fc)", "fan_in_fan_out": True, "bias": "none",
                   "use_rslora": False, "rank_pattern": {}, "alpha_pattern": {}, "modules_to_save": None}
    conv_adapter = []
    conv_expected = {name: v for name, v in conv_values.items()}
    for name, suffix in [("transformer.h.0.attn.c_attn.weight", ""), ("transformer.h.0.mlp.c_fc.weight", ".default")]:
        module = name[: -len(".weight")]
        in_features, out_features = conv[name][1]
        a = rng.normal(0, 0.5, (r2, in_features)).astype(np.float32)
        b = rng.normal(0, 0.5, (out_features, r2)).astype(np.float32)
        conv_adapter.append(("base_model.model." + module + ".lora_A" + suffix + ".weight", "F32", list(a.shape),
                             encode("F32", a)))
        conv_adapter.append(("base_model.model." + module + ".lora_B" + suffix + ".weight", "F32", list(b.shape),
                             encode("F32", b)))
        delta = ((b.astype(np.float64) @ a.astype(np.float64)) * (alpha2 / r2)).T
        conv_expected[name] = (conv_values[name].astype(np.float64) + delta).astype(np.float32)
    conv_dir = os.path.join(OUT, "peft", "adapter_fan_in_fan_out")
    write_safetensors(os.path.join(conv_dir, "adapter_model.safetensors"), conv_adapter)
    with open(os.path.join(conv_dir, "adapter_config.json"), "w") as f:
        json.dump(conv_config, f, indent=2)
    write_safetensors(os.path.join(OUT, "peft", "expected_fan_in_fan_out.safetensors"),
                      [(n, "F32", list(v.shape), encode("F32", v)) for n, v in conv_expected.items()])


if __name__ == "__main__":
    dtype_fixture()
    peft_fixture()

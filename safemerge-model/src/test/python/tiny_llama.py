"""Writes a random tiny Llama (F32) with the test tokenizer, for trying the generate/chat/serve commands and for
ServeBench. Usage (from the repository root): python3 safemerge-model/src/test/python/tiny_llama.py OUT_DIR [HIDDEN=64] [LAYERS=2]
"""

import json
import pathlib
import shutil
import struct
import sys

import numpy as np

TOKENIZER = pathlib.Path(__file__).resolve().parent.parent / "resources" / "dev" / "safemerge" / "model" / "text" / "tiny"


def main():
    out = pathlib.Path(sys.argv[1])
    hidden = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    layers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    vocab, inter = 563, 2 * hidden
    rng = np.random.default_rng(7)
    tensors = {"model.embed_tokens.weight": rng.normal(0, 0.2, (vocab, hidden))}
    for layer in range(layers):
        p = f"model.layers.{layer}."
        tensors[p + "input_layernorm.weight"] = np.ones(hidden)
        tensors[p + "self_attn.q_proj.weight"] = rng.normal(0, 0.2, (hidden, hidden))
        tensors[p + "self_attn.k_proj.weight"] = rng.normal(0, 0.2, (hidden // 2, hidden))
        tensors[p + "self_attn.v_proj.weight"] = rng.normal(0, 0.2, (hidden // 2, hidden))
        tensors[p + "self_attn.o_proj.weight"] = rng.normal(0, 0.2, (hidden, hidden))
        tensors[p + "post_attention_layernorm.weight"] = np.ones(hidden)
        tensors[p + "mlp.gate_proj.weight"] = rng.normal(0, 0.2, (inter, hidden))
        tensors[p + "mlp.up_proj.weight"] = rng.normal(0, 0.2, (inter, hidden))
        tensors[p + "mlp.down_proj.weight"] = rng.normal(0, 0.2, (hidden, inter))
    tensors["model.norm.weight"] = np.ones(hidden)
    tensors["lm_head.weight"] = rng.normal(0, 0.2, (vocab, hidden))
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        data = value.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    head = json.dumps(header).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.safetensors").write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab,
              "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
              "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
              "rms_norm_eps": 1e-5, "bos_token_id": 556, "eos_token_id": 557, "tie_word_embeddings": False,
              "torch_dtype": "float32"}
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(TOKENIZER / name, out / name)


if __name__ == "__main__":
    main()

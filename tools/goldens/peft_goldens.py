#!/usr/bin/env python3
"""Goldens from PEFT in both directions, and one LoRA training step of torch + PEFT.

1. Adapters made by PEFT (`get_peft_model` with random A and B, `save_pretrained`) on the transformers goldens:
   plain LoRA, rsLoRA with a regex target and rank/alpha patterns, all-linear on Gemma 2; with PEFT's logits.
   (`fan_in_fan_out` applies only to GPT-2 style Conv1D layers, which no supported architecture has.)
2. The adapter this project's trainer writes (resources dev/safemerge/model/train/peft/adapter) loaded by
   `PeftModel.from_pretrained`: the LoRA keys PEFT found missing or unexpected, and PEFT's logits.
3. One LoRA training step on the llama2 golden from PEFT-saved initial A and B: loss, clipped gradients, and the
   weights after two AdamW steps with a linear schedule (the second step exercises the moments).

Usage: python peft_goldens.py RESOURCES      (RESOURCES = safemerge-model/src/test/resources)
"""
import json
import os
import sys

import numpy as np
import peft
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from peft.utils import set_peft_model_state_dict
from safetensors.numpy import save_file
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

SEED = 20261202
IDS = [1, 12, 3, 24, 36, 2, 15, 3, 30, 99, 7, 64]


def save_adapter(model, directory):
    model.save_pretrained(directory)
    os.remove(os.path.join(directory, "README.md"))  # PEFT's model card template, not part of the adapter


def base(resources, name):
    path = os.path.join(resources, "goldens", "transformers", "models", name)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    return model.eval()


def logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float().numpy()


ADAPTERS = [
    ("lora_llama2", "llama2_f32",
     dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"])),
    ("rslora_patterns_qwen2", "qwen2_f32",
     dict(r=8, lora_alpha=16, use_rslora=True, target_modules=r".*\.(k_proj|v_proj|up_proj)",
          rank_pattern={"layers.1.self_attn.k_proj": 2}, alpha_pattern={"up_proj": 4})),
    ("all_linear_gemma2", "gemma2_f32_softcap_window",
     dict(r=2, lora_alpha=3, target_modules="all-linear")),
]


def peft_made(out, resources):
    for name, base_name, kwargs in ADAPTERS:
        torch.manual_seed(SEED)
        config = LoraConfig(task_type="CAUSAL_LM", init_lora_weights=False, lora_dropout=0.0, **kwargs)
        model = get_peft_model(base(resources, base_name), config).eval()
        # init_lora_weights=False draws B like A; scale B down so the adapter moves logits without dominating
        with torch.no_grad():
            for key, parameter in model.named_parameters():
                if "lora_B" in key:
                    parameter.mul_(0.3)
        directory = os.path.join(out, "adapters", name)
        save_adapter(model, directory)
        save_file({"ids": np.array(IDS, dtype=np.float32), "logits": logits(model, IDS),
                   "base_logits": base_logits(resources, base_name)},
                  os.path.join(out, "expected", name + ".safetensors"))


def base_logits(resources, name):
    return logits(base(resources, name), IDS)


def finetune_adapter_in_peft(out, resources):
    model_dir = os.path.join(resources, "reference", "models", "llama_f32_gqa")
    adapter_dir = os.path.join(resources, "dev", "safemerge", "model", "train", "peft", "adapter")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager")
    peft_model = PeftModel.from_pretrained(model, adapter_dir).eval()
    # from_pretrained only warns; loading the same file again reports exactly what it matched
    result = set_peft_model_state_dict(peft_model, load_file(os.path.join(adapter_dir, "adapter_model.safetensors")))
    missing = sorted(k for k in result.missing_keys if "lora_" in k)
    lora_modules = sorted({k for k, _ in peft_model.named_modules() if k.endswith(("q_proj", "v_proj", "down_proj"))
                           and hasattr(peft_model.get_submodule(k), "lora_A")})
    report = {"adapter": "dev/safemerge/model/train/peft/adapter", "base": "reference/models/llama_f32_gqa",
              "missing_lora_keys": missing, "unexpected_keys": sorted(result.unexpected_keys),
              "lora_modules": len(lora_modules), "ids": IDS, "logits": logits(peft_model, IDS).tolist()}
    with open(os.path.join(out, "finetune_adapter_in_peft.json"), "w") as f:
        json.dump(report, f)
        f.write("\n")


# The training step: batch of two sequences, labels already aligned with positions (-100 = not learned)
BATCH = [([1, 10, 3, 20, 30, 2], [-100, -100, 20, 30, 2, -100]),
         ([1, 40, 41, 3, 80, 120, 90, 2], [-100, -100, -100, 80, 120, 90, 2, -100])]
LR, WEIGHT_DECAY, MAX_NORM, TOTAL_STEPS, STEPS = 1e-2, 0.01, 1.0, 4, 2


def training_step(out, resources):
    torch.manual_seed(SEED + 1)
    config = LoraConfig(task_type="CAUSAL_LM", init_lora_weights=False, lora_dropout=0.0, r=4, lora_alpha=8,
                        target_modules=["q_proj", "v_proj"])
    model = get_peft_model(base(resources, "llama2_f32"), config)
    with torch.no_grad():
        for key, parameter in model.named_parameters():
            if "lora_B" in key:
                parameter.mul_(0.1)
    save_adapter(model, os.path.join(out, "train_step", "initial"))
    model.train()
    params = {k: p for k, p in model.named_parameters() if p.requires_grad}
    optimizer = torch.optim.AdamW(params.values(), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=WEIGHT_DECAY)
    schedule = transformers.get_linear_schedule_with_warmup(optimizer, 0, TOTAL_STEPS)
    tensors = {}
    targets = sum(sum(1 for t in labels if t != -100) for _, labels in BATCH)
    for step in range(STEPS):
        optimizer.zero_grad()
        total = 0.0
        for ids, labels in BATCH:
            out_logits = model(torch.tensor([ids])).logits[0]
            loss = torch.nn.functional.cross_entropy(out_logits, torch.tensor(labels), ignore_index=-100,
                                                     reduction="sum") / targets
            loss.backward()
            total += loss.item()
        norm = torch.nn.utils.clip_grad_norm_(params.values(), MAX_NORM)
        tensors[f"step{step}.loss"] = np.array([total], dtype=np.float32)
        tensors[f"step{step}.grad_norm"] = np.array([float(norm)], dtype=np.float32)
        tensors[f"step{step}.lr"] = np.array([schedule.get_last_lr()[0]], dtype=np.float32)
        for key, p in params.items():
            tensors[f"step{step}.grad.{peft_key(key)}"] = p.grad.detach().numpy().copy()
        optimizer.step()
        schedule.step()
        for key, p in params.items():
            tensors[f"step{step}.after.{peft_key(key)}"] = p.detach().numpy().copy()
    for n, (ids, labels) in enumerate(BATCH):
        tensors[f"batch{n}.ids"] = np.array(ids, dtype=np.float32)
        tensors[f"batch{n}.labels"] = np.array(labels, dtype=np.float32)
    save_file(tensors, os.path.join(out, "train_step", "expected.safetensors"))


def peft_key(parameter_name):
    """PEFT's saved key of a trainable parameter: without the adapter name."""
    return parameter_name.replace(".default.", ".")


def main():
    resources = sys.argv[1]
    out = os.path.join(resources, "goldens", "peft")
    os.makedirs(os.path.join(out, "expected"), exist_ok=True)
    torch.use_deterministic_algorithms(True)
    peft_made(out, resources)
    finetune_adapter_in_peft(out, resources)
    training_step(out, resources)
    with open(os.path.join(out, "versions.json"), "w") as f:
        json.dump({"peft": peft.__version__, "transformers": transformers.__version__, "torch": torch.__version__,
                   "seed": SEED}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

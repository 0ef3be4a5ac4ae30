#!/usr/bin/env python3
"""Goldens from mergekit: every merge method the project implements, run by `mergekit-yaml` on tiny Llama
checkpoints written by transformers (`from_config` + `save_pretrained`), in float32 and bfloat16, with gradients
and filters, slices/passthrough, model_stock over three models, `tokenizer_source: base` across different
vocabularies and a base+adapter reference (PEFT adapter). DARE/DELLA draw random masks, so their cases are kept
for statistics (kept fraction, rescale) rather than values.

Usage: python mergekit_goldens.py OUT_DIR [--only CASE,CASE...]     (mergekit-yaml on PATH; the suite reads
safemerge-merge/src/test/resources/goldens/mergekit; --only writes the inputs and the named case folders alone,
as the suite's live comparison does)
An interrupted run resumes (finished cases are kept); delete OUT_DIR to start over. Each case folder holds merge.yml (model paths relative to the case folder, the way the project resolves them; the
script runs mergekit from that folder so mergekit resolves them the same) and out/, mergekit's output.
"""
import json
import os
import shutil
import subprocess
import sys

import torch
import yaml
from peft import LoraConfig, get_peft_model
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast

SEED = 20261202
SHAPE = dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=3, num_attention_heads=2,
             num_key_value_heads=1, max_position_embeddings=32, bos_token_id=1, eos_token_id=2, pad_token_id=0,
             initializer_range=0.2)


def words(vocab, extra_first=()):
    names = ["<pad>", "<s>", "</s>"] + list(extra_first)
    names += [f"w{i}" for i in range(vocab) if len(names) < vocab]
    return names[:vocab]


def save_tokenizer(directory, names):
    tokenizer = Tokenizer(WordLevel({n: i for i, n in enumerate(names)}, unk_token="<pad>"))
    tokenizer.pre_tokenizer = WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>",
                            pad_token="<pad>").save_pretrained(directory)


def make_inputs(out):
    inputs = os.path.join(out, "inputs")
    torch.manual_seed(SEED)
    base = AutoModelForCausalLM.from_config(LlamaConfig(**SHAPE), dtype=torch.float32)
    base.save_pretrained(os.path.join(inputs, "base"))
    save_tokenizer(os.path.join(inputs, "base"), words(64))
    # fine-tuned variants: base + task vectors of different size and sparsity, as fine-tuning leaves them
    for n, name in enumerate(["ft_a", "ft_b", "ft_c"]):
        model = AutoModelForCausalLM.from_config(LlamaConfig(**SHAPE), dtype=torch.float32)
        model.load_state_dict(base.state_dict())
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * (0.02 * (n + 1)))
        model.save_pretrained(os.path.join(inputs, name))
        save_tokenizer(os.path.join(inputs, name), words(64))
    # a model with a larger, partly reordered vocabulary (its tokens w60..w67 and two new words come first)
    big = AutoModelForCausalLM.from_config(LlamaConfig(**{**SHAPE, "vocab_size": 72}), dtype=torch.float32)
    big.save_pretrained(os.path.join(inputs, "ft_vocab"))
    save_tokenizer(os.path.join(inputs, "ft_vocab"), words(72, ["w63", "new0", "w10", "new1"]))
    # a PEFT adapter on base (random B so that it changes the weights)
    peft_model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(os.path.join(inputs, "base"), dtype=torch.float32),
        LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "down_proj"], init_lora_weights=False))
    peft_model.save_pretrained(os.path.join(inputs, "adapter"))
    os.remove(os.path.join(inputs, "adapter", "README.md"))


def m(name, **parameters):
    entry = {"model": "../../inputs/" + name}
    if parameters:
        entry["parameters"] = parameters
    return entry


BASE = "../../inputs/base"
GRADIENT = [{"filter": "self_attn", "value": [0.2, 0.8]}, {"filter": "mlp", "value": 0.6}, {"value": [1.0, 0.0, 0.5]}]

CASES = {
    "linear": {"merge_method": "linear", "models": [m("ft_a", weight=0.5), m("ft_b", weight=0.3),
                                                    m("ft_c", weight=0.2)]},
    "slerp_gradient_filters": {"merge_method": "slerp", "base_model": BASE,
                               "models": [m("base"), m("ft_a")], "parameters": {"t": GRADIENT}},
    "nuslerp": {"merge_method": "nuslerp", "models": [m("ft_a", weight=0.3), m("ft_b", weight=0.7)]},
    "nuslerp_base_row_wise": {"merge_method": "nuslerp", "base_model": BASE,
                              "models": [m("ft_a", weight=0.6), m("ft_b", weight=0.4)],
                              "parameters": {"nuslerp_row_wise": True, "nuslerp_flatten": False}},
    "multislerp": {"merge_method": "multislerp", "models": [m("ft_a", weight=1.0), m("ft_b", weight=2.0),
                                                            m("ft_c", weight=0.5)]},
    "karcher": {"merge_method": "karcher", "models": [m("ft_a"), m("ft_b"), m("ft_c")]},
    "task_arithmetic_gradient": {"merge_method": "task_arithmetic", "base_model": BASE,
                                 "models": [m("ft_a", weight=GRADIENT), m("ft_b", weight=0.5)]},
    "ties": {"merge_method": "ties", "base_model": BASE,
             "models": [m("ft_a", weight=0.7, density=0.5), m("ft_b", weight=0.5, density=0.7),
                        m("ft_c", weight=0.3, density=0.3)]},
    "breadcrumbs": {"merge_method": "breadcrumbs", "base_model": BASE,
                    "models": [m("ft_a", weight=0.6, density=0.8, gamma=0.05), m("ft_b", weight=0.4, density=0.9,
                                                                                gamma=0.02)]},
    "breadcrumbs_ties": {"merge_method": "breadcrumbs_ties", "base_model": BASE,
                         "models": [m("ft_a", weight=0.6, density=0.8, gamma=0.05),
                                    m("ft_b", weight=0.4, density=0.9, gamma=0.02)]},
    "model_stock": {"merge_method": "model_stock", "base_model": BASE, "models": [m("ft_a"), m("ft_b"), m("ft_c")]},
    "sce": {"merge_method": "sce", "base_model": BASE, "models": [m("ft_a"), m("ft_b"), m("ft_c")],
            "parameters": {"select_topk": 0.5}},
    "nearswap": {"merge_method": "nearswap", "base_model": BASE, "models": [m("ft_a")],
                 "parameters": {"t": 0.01}},
    "arcee_fusion": {"merge_method": "arcee_fusion", "base_model": BASE, "models": [m("ft_a")]},
    "passthrough_slices": {"merge_method": "passthrough",
                           "slices": [{"sources": [{"model": "../../inputs/ft_a", "layer_range": [0, 2]}]},
                                      {"sources": [{"model": "../../inputs/ft_b", "layer_range": [1, 3]}]}]},
    "linear_slices_gradient": {"merge_method": "linear",
                               "slices": [{"sources": [{"model": "../../inputs/ft_a", "layer_range": [0, 3],
                                                        "parameters": {"weight": [0.0, 1.0]}},
                                                       {"model": "../../inputs/ft_b", "layer_range": [0, 3],
                                                        "parameters": {"weight": 0.5}}]}]},
    "tokenizer_source_base": {"merge_method": "linear", "tokenizer_source": "base", "base_model": BASE,
                              "models": [m("base", weight=0.5), m("ft_vocab", weight=0.5)]},
    "base_plus_adapter": {"merge_method": "task_arithmetic", "base_model": BASE,
                          "models": [{"model": "../../inputs/base+../../inputs/adapter",
                                      "parameters": {"weight": 0.7}}, m("ft_a", weight=0.3)]},
}

# Random masks: one fine-tuned model, so that the kept fraction and the rescale factor can be read off the output
STATISTICS = {
    "dare_linear": {"merge_method": "dare_linear", "base_model": BASE, "models": [m("ft_c", weight=1.0,
                                                                                    density=0.3)]},
    "dare_ties": {"merge_method": "dare_ties", "base_model": BASE, "models": [m("ft_c", weight=1.0, density=0.6)]},
    "della": {"merge_method": "della", "base_model": BASE, "models": [m("ft_c", weight=1.0, density=0.4,
                                                                        epsilon=0.2)],
              "parameters": {"lambda": 1.0}},
    "della_linear": {"merge_method": "della_linear", "base_model": BASE,
                     "models": [m("ft_c", weight=1.0, density=0.5, epsilon=0.1)], "parameters": {"lambda": 1.0}},
}

# bfloat16 runs (every method with deterministic values)
BF16_CASES = ["linear", "slerp_gradient_filters", "nuslerp", "nuslerp_base_row_wise", "multislerp", "karcher",
              "task_arithmetic_gradient", "nearswap", "passthrough_slices", "ties", "breadcrumbs", "breadcrumbs_ties",
              "model_stock", "sce", "arcee_fusion"]


def run(out, name, config, mergekit):
    directory = os.path.join(out, "cases", name)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "merge.yml"), "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    if os.path.exists(os.path.join(directory, "out")):
        return  # finished by an earlier, interrupted run
    copy = "--copy-tokenizer" if "tokenizer_source" in config else "--no-copy-tokenizer"
    subprocess.run([mergekit, "merge.yml", "out", "--random-seed", "7", copy, "--lora-merge-cache", "lora-cache"],
                   cwd=directory, check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(os.path.join(directory, "lora-cache"), ignore_errors=True)
    for extra in ["README.md"]:
        path = os.path.join(directory, "out", extra)
        if os.path.exists(path):
            os.remove(path)


def all_cases():
    """Every case folder name with its config, in the order they are written."""
    cases = {name: {**config, "dtype": "float32"} for name, config in CASES.items()}
    cases.update({name + "_bf16": {**CASES[name], "dtype": "bfloat16"} for name in BF16_CASES})
    cases.update({"stats_" + name: {**config, "dtype": "float32"} for name, config in STATISTICS.items()})
    return cases


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        at = args.index("--only")
        only = args[at + 1].split(",")
        del args[at:at + 2]
    out = args[0]
    mergekit = args[1] if len(args) > 1 else "mergekit-yaml"
    cases = all_cases()
    unknown = [name for name in only or [] if name not in cases]
    if unknown:
        sys.exit("unknown case: " + ", ".join(unknown))
    if not os.path.exists(os.path.join(out, "inputs")):
        make_inputs(out)
    for name, config in cases.items():
        if only is None or name in only:
            run(out, name, config, mergekit)
    with open(os.path.join(out, "versions.json"), "w") as f:
        json.dump({"mergekit": __import__("importlib.metadata").metadata.version("mergekit"),
                   "mergekit_commit": os.environ.get("MERGEKIT_COMMIT", "unknown"),
                   "torch": torch.__version__, "transformers": __import__("transformers").__version__,
                   "seed": SEED}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

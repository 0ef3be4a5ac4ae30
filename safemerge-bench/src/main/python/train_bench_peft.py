"""PyTorch + PEFT side of TrainBench: LoRA fine-tuning steps of a transformers LlamaForCausalLM on the CPU, with
the same shapes and the same work per step as the Java trainer (eager attention, PEFT LoRA on the chosen
projections, torch AdamW on the LoRA factors, cross-entropy over all next-token targets, global-norm clipping).

Prints one JSON line: {"tokens_per_second": ..., "seconds_per_step": [...], "torch": ..., "peft": ..., "threads": ...}.
Run by safemerge-bench/run TrainBench with the Python of tools/goldens/README.md; by hand:
    /tmp/goldens-venv/bin/python safemerge-bench/src/main/python/train_bench_peft.py --threads 2
"""
import argparse
import json
import time

import peft
import torch
import torch.nn.functional as F
import transformers
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--hidden", type=int, default=384)
    p.add_argument("--intermediate", type=int, default=1024)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--kv-heads", type=int, default=6)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16)
    p.add_argument("--targets", default="q_proj,v_proj")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)

    config = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
                         num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
                         rms_norm_eps=1e-5, max_position_embeddings=2048, tie_word_embeddings=False,
                         attn_implementation="eager")
    base = LlamaForCausalLM(config).to(torch.float32)
    model = get_peft_model(base, LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.0,
                                            target_modules=a.targets.split(","), init_lora_weights=False))
    model.train()
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq + 1))

    times = []
    for step in range(a.warmup + a.steps):
        start = time.perf_counter()
        logits = model(input_ids=ids[:, :-1]).logits
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step >= a.warmup:
            times.append(time.perf_counter() - start)
    tokens = a.batch * a.seq
    median = sorted(times)[len(times) // 2]
    print(json.dumps({"tokens_per_second": tokens / median, "seconds_per_step": times,
                      "torch": torch.__version__, "peft": peft.__version__,
                      "transformers": transformers.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()

"""PyTorch side of TrainBench: LoRA fine-tuning steps of a Llama-shaped decoder on the CPU, with the same shapes
and the same work per step as the Java trainer (eager attention as HF's eager path, LoRA on the chosen
projections, AdamW on the LoRA factors, cross-entropy over all next-token targets, global-norm clipping).

Prints one JSON line: {"tokens_per_second": ..., "seconds_per_step": [...], "torch": ..., "threads": ...}.
Run by safemerge-bench/run TrainBench; by hand:
    /usr/bin/python3 safemerge-bench/src/main/python/train_bench_torch.py --threads 2
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LoraLinear(torch.nn.Module):
    def __init__(self, out_features, in_features, rank, alpha, adapted):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(out_features, in_features) / math.sqrt(in_features),
                                         requires_grad=False)
        self.adapted = adapted
        if adapted:
            bound = 1 / math.sqrt(in_features)
            self.lora_a = torch.nn.Parameter(torch.empty(rank, in_features).uniform_(-bound, bound))
            self.lora_b = torch.nn.Parameter(torch.randn(out_features, rank) * 0.01)
            self.scale = alpha / rank

    def forward(self, x):
        y = F.linear(x, self.weight)
        if self.adapted:
            y = y + F.linear(F.linear(x, self.lora_a), self.lora_b) * self.scale
        return y


class Block(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        h, hd, nh, nkv, inter = a.hidden, a.hidden // a.heads, a.heads, a.kv_heads, a.intermediate
        t = set(a.targets.split(","))
        mk = lambda name, o, i: LoraLinear(o, i, a.rank, a.alpha, name in t)
        self.q, self.k, self.v = mk("q_proj", nh * hd, h), mk("k_proj", nkv * hd, h), mk("v_proj", nkv * hd, h)
        self.o = mk("o_proj", h, nh * hd)
        self.gate, self.up, self.down = mk("gate_proj", inter, h), mk("up_proj", inter, h), mk("down_proj", h, inter)
        self.n1 = torch.nn.Parameter(torch.ones(h), requires_grad=False)
        self.n2 = torch.nn.Parameter(torch.ones(h), requires_grad=False)
        self.nh, self.nkv, self.hd = nh, nkv, hd

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = rms_norm(x, self.n1, 1e-5)
        q = self.q(h).view(b, t, self.nh, self.hd).transpose(1, 2)
        k = self.k(h).view(b, t, self.nkv, self.hd).transpose(1, 2)
        v = self.v(h).view(b, t, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.hd) + mask
        attn = torch.softmax(scores, dim=-1) @ v
        x = x + self.o(attn.transpose(1, 2).reshape(b, t, -1))
        h = rms_norm(x, self.n2, 1e-5)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


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

    embed = torch.randn(a.vocab, a.hidden) * 0.5
    blocks = torch.nn.ModuleList([Block(a) for _ in range(a.layers)])
    final_norm = torch.ones(a.hidden)
    lm_head = torch.randn(a.vocab, a.hidden) / math.sqrt(a.hidden)
    params = [q for q in blocks.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)

    hd = a.hidden // a.heads
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    freqs = torch.outer(torch.arange(a.seq, dtype=torch.float32), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    mask = torch.full((a.seq, a.seq), float("-inf")).triu(1)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq + 1))

    times = []
    for step in range(a.warmup + a.steps):
        start = time.perf_counter()
        x = embed[ids[:, :-1]]
        for blk in blocks:
            x = blk(x, cos, sin, mask)
        logits = F.linear(rms_norm(x, final_norm, 1e-5), lm_head)
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
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()

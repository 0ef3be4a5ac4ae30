"""Golden values for AdamWTest: torch.optim.AdamW + clip_grad_norm_ + a LambdaLR with HF's linear and cosine
warmup formulas, on fixed parameters and gradients. Run with Debian's python3-torch:
    /usr/bin/python3 safemerge-model/src/test/python/adamw_golden.py > \
        safemerge-model/src/test/resources/dev/safemerge/model/train/adamw_golden.json
"""
import json
import math

import numpy as np
import torch


def linear(warmup, total):
    def f(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))
    return f


def cosine(warmup, total):
    def f(step):
        if step < warmup:
            return step / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))
    return f


def run(schedule_name, schedule, steps, lr, weight_decay, max_norm, seed):
    rng = np.random.default_rng(seed)
    shapes = [[5], [3, 2]]
    initial = [rng.normal(size=s).astype(np.float32) for s in shapes]
    params = [torch.nn.Parameter(torch.tensor(p)) for p in initial]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    grads, after, lrs, norms = [], [], [], []
    for _ in range(steps):
        g = [(rng.normal(size=s) * 2.0).astype(np.float32) for s in shapes]
        for p, gi in zip(params, g):
            p.grad = torch.tensor(gi)
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        grads.append([gi.reshape(-1).tolist() for gi in g])
        after.append([p.detach().numpy().reshape(-1).tolist() for p in params])
        norms.append(float(norm))
    return {
        "schedule": schedule_name, "lr": lr, "weight_decay": weight_decay, "max_norm": max_norm,
        "warmup": 2, "total": steps,
        "initial": [p.reshape(-1).tolist() for p in initial], "grads": grads, "lrs": lrs,
        "norms": norms, "after": after,
    }


cases = [
    run("linear", linear(2, 6), 6, 1e-2, 0.1, 1.0, 1),
    run("cosine", cosine(2, 6), 6, 3e-3, 0.0, 100.0, 2),
]
print(json.dumps({"torch": torch.__version__, "cases": cases}))

#!/usr/bin/env python3
"""Golden values for every merge method, written from the mergekit study (shared refs/mergekit.md), not from the
Java code. Each case lists the inputs, parameters, the uniforms that decide random keep masks, the expected result
and the tolerance the Java result must meet.

bf16 arithmetic follows torch: every elementwise op is computed in float32 and rounded to bf16 (round to nearest
even); reductions accumulate in float32 and round once; Python scalars stay float32 in mul/div and are rounded to
the dtype in add/sub/clamp. Methods that mergekit computes in float32 (slerp) or whose bf16 op sequence is not
modelled here (sce) are computed in float32 and rounded once; their bf16 tolerance is one bf16 ulp. nuslerp,
multislerp, karcher, model_stock and arcee_fusion follow their mergekit file op by op.

Run: python3 method_fixtures.py > ../resources/dev/safemerge/merge/method-fixtures.json
"""
import json
import sys

import numpy as np

F32 = np.float32


def bf16(x):
    """Round float32 values to bfloat16 (nearest even) and return them as float32."""
    a = np.asarray(x, dtype=F32).copy()
    bits = a.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return rounded.astype(np.uint32).view(F32).reshape(a.shape)


def rounder(dtype):
    return bf16 if dtype == "bfloat16" else (lambda x: np.asarray(x, dtype=F32))


def fsum(arrays):
    """Sequential float32 accumulation, the way a reduction over a stacked dim 0 adds."""
    acc = np.zeros_like(arrays[0], dtype=F32)
    for a in arrays:
        acc = (acc + a).astype(F32)
    return acc


# ---------------------------------------------------------------- methods

def linear(inputs, weights, normalize, R):
    w = [R(F32(x)) for x in weights]
    products = [R(wi * x) for wi, x in zip(w, inputs)]
    s = R(fsum(products))
    if normalize:
        s = R(s / R(fsum([np.array(wi, F32) for wi in w])))
    return s


def slerp(t, v0, v1, R):
    v0 = v0.astype(F32)
    v1 = v1.astype(F32)
    n0 = np.float64(np.linalg.norm(v0.astype(np.float64)))
    n1 = np.float64(np.linalg.norm(v1.astype(np.float64)))
    u0 = v0 / F32(n0) if n0 > 1e-8 else v0
    u1 = v1 / F32(n1) if n1 > 1e-8 else v1
    dot = float(np.sum(u0.astype(np.float64) * u1.astype(np.float64)))
    if abs(dot) > 0.9995:
        res = F32(1 - t) * v0 + F32(t) * v1
    else:
        theta0 = np.arccos(dot)
        s0 = np.sin(theta0 - theta0 * t) / np.sin(theta0)
        s1 = np.sin(theta0 * t) / np.sin(theta0)
        res = F32(s0) * v0 + F32(s1) * v1
    return R(res)


def norm32(v):
    """torch.norm: the squares summed in float64 here, the root rounded to float32 (the caller rounds further)."""
    return F32(np.sqrt(np.sum(np.asarray(v, np.float64) ** 2)))


def nuslerp_vectors(t, v0, v1, R):
    """nuslerp.py op by op on float32 rows (one vector per row), each tensor op rounded to the dtype."""
    out = np.empty_like(v0)
    for r in range(v0.shape[0]):
        a, b = v0[r], v1[r]
        na = max(R(norm32(a)), F32(1e-7))
        nb = max(R(norm32(b)), F32(1e-7))
        dot = R(F32(np.sum(R(R(a / na) * R(b / nb)).astype(np.float64))))
        theta = R(F32(np.arccos(np.clip(np.float64(dot), -1, 1))))
        s = R(F32(np.sin(np.float64(theta))))
        if abs(s) < 1e-8:
            out[r] = R(R(F32(1 - t) * a) + R(F32(t) * b))
        else:
            c0 = R(F32(np.sin(np.float64(R(F32(1 - t) * theta)))))
            c1 = R(F32(np.sin(np.float64(R(F32(t) * theta)))))
            out[r] = R(R(R(c0 * a) + R(c1 * b)) / s)
    return out


def nuslerp(models, weights, base, flatten, row_wise, shape, R):
    w1, w2 = weights
    t = 0.5 if abs(w1 + w2) < 1e-6 else w2 / (w1 + w2)
    v0, v1 = np.asarray(models[0], F32), np.asarray(models[1], F32)
    if base is not None:
        v0 = R(models[0] - base)
        v1 = R(models[1] - base)
    v0 = v0.reshape(shape)
    v1 = v1.reshape(shape)
    if flatten or len(shape) < 2:
        res = nuslerp_vectors(t, v0.reshape(1, -1), v1.reshape(1, -1), R).reshape(shape)
    elif row_wise:
        res = nuslerp_vectors(t, np.ascontiguousarray(v0.T), np.ascontiguousarray(v1.T), R).T
    else:
        res = nuslerp_vectors(t, v0, v1, R)
    res = res.reshape(-1)
    if base is not None:
        res = R(res + base)
    return R(res)


def weighted_sum(vectors, weights, R):
    """(vectors * weights.view(-1, 1)).sum(0): each product rounded, the sum over models rounded once."""
    total = np.zeros_like(vectors[0])
    for v, w in zip(vectors, weights):
        total = total + R(v * w)
    return R(total)


def multislerp(models, weights, base, normalize_weights, eps, R):
    """multislerp.py op by op, each tensor op rounded to the dtype (the weights are a tensor of the dtype there)."""
    x = [np.asarray(m, F32) if base is None else R(m - base) for m in models]
    w = [R(F32(wi)) for wi in weights]
    if normalize_weights:
        total = R(F32(sum(float(wi) for wi in w)))
        w = [R(wi / total) for wi in w]
    eps = F32(eps)
    norms = [R(norm32(v)) for v in x]
    units = [R(v / R(n + eps)) for v, n in zip(x, norms)]
    mean = weighted_sum(units, w, R)
    mean = R(mean / R(norm32(mean)))
    tangents = []
    for u in units:
        dot = R(F32(np.sum(R(u * mean).astype(np.float64))))
        tangents.append(R(u - R(dot * mean)))
    tan = weighted_sum(tangents, w, R)
    tn = R(R(norm32(tan)) + eps)
    cos = R(F32(np.cos(np.float64(tn))))
    sin_over = R(R(F32(np.sin(np.float64(tn)))) / tn)
    average_norm = F32(0)
    for n, wi in zip(norms, w):
        average_norm = average_norm + R(n * wi)
    average_norm = R(average_norm)
    res = R(R(R(mean * cos) + R(tan * sin_over)) * average_norm)
    if base is not None:
        res = R(res + base)
    return R(res)


def karcher(inputs, max_iter, tol, R):
    """karcher.py op by op, each tensor op rounded to the dtype. Its norms are float32 0-dim tensors: a bf16 tensor
    divided by one is divided by the float32 value, multiplied by one that comes first (cos, sin of the tangent
    norm) by the value rounded to bf16; Python floats are float32 in both places."""
    m = len(inputs)
    alpha = 1.0 / m
    xs = [np.asarray(x, F32) for x in inputs]
    norms = [norm32(x) for x in xs]
    units = [R(x / n) if n > 0 else np.zeros_like(x) for x, n in zip(xs, norms)]
    valid = [i for i in range(m) if norms[i] > tol]
    valid_sum = 0.0
    for _ in valid:
        valid_sum += alpha
    va = F32(alpha / valid_sum)
    mean = np.zeros_like(xs[0])
    for i in valid:
        mean = R(mean + R(va * units[i]))
    mn = norm32(mean)
    mean = units[valid[0]].copy() if mn < tol else R(mean / mn)
    for _ in range(max_iter):
        tangent = np.zeros_like(mean)
        for i in valid:
            d = np.clip(R(F32(np.dot(mean.astype(np.float64), units[i].astype(np.float64)))), F32(-1), F32(1))
            th = R(F32(np.arccos(np.float64(d))))
            if th < tol:
                continue
            factor = R(va * R(th / R(F32(np.sin(np.float64(th))))))
            tangent = R(tangent + R(factor * R(units[i] - R(d * mean))))
        tn = norm32(tangent)
        if tn < tol:
            break
        cos = R(F32(np.cos(np.float64(tn))))
        sin = R(F32(np.sin(np.float64(tn))))
        mean = R(R(cos * mean) + R(sin * R(tangent / tn)))
        un = norm32(mean)
        if un > tol:
            mean = R(mean / un)
    scale = 0.0
    for n in norms:
        scale += alpha * float(n)
    return R(F32(scale) * mean)


def rescaled(delta, keep, rescale, R):
    masked = np.where(keep, delta, F32(0)).astype(F32)
    if not rescale:
        return masked
    before = R(F32(np.sum(np.abs(delta).astype(np.float64))))
    after = R(F32(np.sum(np.abs(masked).astype(np.float64))))
    if before < 1e-7 or after < 1e-7:
        return masked
    factor = R(F32(before) / F32(after))
    return R(masked * factor)


def rank_keys(mag):
    """Ascending order with ties broken by index (a total order; mergekit's torch order is arbitrary on ties)."""
    return np.lexsort((np.arange(mag.size), mag))


def prune_magnitude(delta, density, rescale, R):
    k = int(density * delta.size)
    assert k > 0
    order = rank_keys(np.abs(delta))
    keep = np.zeros(delta.size, bool)
    keep[order[delta.size - k:]] = True
    return rescaled(delta, keep, rescale, R)


def prune_outliers(delta, density, gamma, rescale, R):
    n = delta.size
    target = int(density * n)
    n_top = int(gamma * n)
    n_bot = n - target - n_top
    if n_bot < 0:
        n_top += n_bot
        n_bot = 0
    order = rank_keys(np.abs(delta))
    keep = np.zeros(n, bool)
    keep[order[n_bot:-n_top] if n_top != 0 else order[n_bot:n_bot]] = True
    return rescaled(delta, keep, rescale, R)


def prune_random(delta, density, uniforms, rescale, dtype, R):
    work = R if dtype == "bfloat16" else rounder("float32")
    p = work(F32(density))
    keep = uniforms < p
    return R(rescaled(delta, keep, rescale, work))


def prune_magprune(delta, density, epsilon, uniforms, rescale, shape, dtype, R):
    if density <= 0:
        return np.zeros_like(delta)
    assert 0 < density - epsilon and density + epsilon < 1
    work = R if dtype == "bfloat16" else rounder("float32")
    row = delta.size if len(shape) < 2 else shape[-1]
    keep = np.zeros(delta.size, bool)
    low = work(F32(density - epsilon))
    for start in range(0, delta.size, row):
        seg = np.abs(delta[start:start + row])
        order = rank_keys(seg)
        ranks0 = np.empty(row, np.float64)
        ranks0[order] = np.arange(row)
        ranks = work(work(F32(ranks0)) + F32(1))
        rmin = ranks.min()
        rmax = ranks.max()
        norm = np.clip(work(work(ranks - rmin) / work(F32(rmax - rmin))), 0, 1)
        p = work(low + work(work(norm * F32(2)) * F32(epsilon)))
        keep[start:start + row] = uniforms[start:start + row] < p
    return R(rescaled(delta, keep, rescale, work))


def gta(base, models, params, glob, pruning, election, uniforms, shape, dtype, R):
    deltas = []
    weights = []
    for name, x in models:
        pr = params[name]
        d = R(x - base)
        density = pr.get("density", 1.0)
        if density < 1:
            if pruning == "magnitude":
                d = prune_magnitude(d, density, glob["rescale"], R)
            elif pruning == "outliers":
                d = prune_outliers(d, density, pr.get("gamma", 0.01), glob["rescale"], R)
            elif pruning == "random":
                d = prune_random(d, density, uniforms[name], glob["rescale"], dtype, R)
            elif pruning == "magprune":
                d = prune_magprune(d, density, pr.get("epsilon", 0.15), uniforms[name], glob["rescale"], shape,
                                   dtype, R)
        w = R(F32(pr["weight"]))
        weights.append(w)
        deltas.append(R(d * w))
    if election:
        s = R(fsum(deltas))
        majority = np.where(s >= 0, F32(1), F32(-1))
        keeps = [np.sign(d) == majority for d in deltas]
        mixed = R(fsum([np.where(k, d, F32(0)) for d, k in zip(deltas, keeps)]))
        divisor = R(fsum([np.where(k, w, F32(0)).astype(F32) for w, k in zip(weights, keeps)]))
        divisor = np.where(divisor == 0, F32(1), divisor)
    else:
        mixed = R(fsum(deltas))
        divisor = R(fsum([np.array(w, F32) for w in weights]))
        if abs(divisor) < 1e-8:
            divisor = F32(1)
    if glob["normalize"]:
        mixed = R(mixed / divisor)
    if glob["lambda"] != 1:
        mixed = R(mixed * F32(glob["lambda"]))
    return R(base + mixed)


def model_stock(base, models, filter_wise, shape, R):
    """model_stock.py op by op, each tensor op rounded to the dtype (t included); reductions in float64, rounded once."""
    n = base.size
    row = (n if len(shape) < 2 else shape[-1]) if filter_wise else n
    out = np.empty(n, F32)
    N = len(models)
    offsets = [R(np.asarray(x, F32) - np.asarray(base, F32)) for x in models]

    def norm(v):
        return R(F32(np.sqrt(np.sum(v.astype(np.float64) ** 2))))

    for start in range(0, n, row):
        sl = slice(start, start + row)
        offs = [o[sl] for o in offsets]
        coss = []
        for i in range(N):
            for j in range(i + 1, N):
                norm_product = R(norm(offs[i]) * norm(offs[j]))
                dot = R(F32(np.sum(R(offs[i] * offs[j]).astype(np.float64))))
                c = R(dot / max(norm_product, R(F32(1e-6))))
                coss.append(float(np.clip(c, -1, 1)))
        cos = R(F32(np.mean(coss)))
        t = R(R(F32(N) * cos) / R(F32(1) + R(F32(N - 1) * cos)))
        keep = R(F32(1) - t)
        total = np.asarray(models[0][sl], F32)
        for x in models[1:]:
            total = R(total + x[sl])
        average = R(total / F32(N))
        out[sl] = R(R(t * average) + R(keep * base[sl]))
    return out


def sce(base, models, select_topk, R):
    deltas = [R(m - base).astype(np.float64) for m in models]
    D = np.stack(deltas)
    if select_topk < 1:
        var = D.var(axis=0).astype(F32)
        k = int(F32(abs(select_topk)) * F32(np.count_nonzero(var)))
        keep = np.zeros(base.size, bool)
        if k > 0:
            keep[rank_keys(np.abs(var))[base.size - k:]] = True
        D = D * keep
    w = np.array([np.sum(d * d) / d.size for d in D])
    w = np.full(len(w), 1.0 / len(w)) if w.sum() < 1e-6 else w / w.sum()
    majority = np.where(D.sum(axis=0) >= 0, 1.0, -1.0)
    keep = np.sign(D) == majority
    mixed = (D * keep * w[:, None]).sum(axis=0)
    div = np.maximum((keep * w[:, None]).sum(axis=0), 1e-6)
    return R((base + mixed / div).astype(F32))


def nearswap(base, x, t, R):
    dist = np.maximum(np.abs(R(base - x)), R(F32(1e-6)))
    w = np.clip(R(R(F32(1) / dist) * F32(t)), 0, 1)
    return R(R(w * x) + R(R(F32(1) - w) * base))


def softmax(v, R):
    e = np.exp((v - v.max()).astype(np.float64)).astype(F32)
    return R(e / F32(np.sum(e.astype(np.float64))))


def arcee_fusion(base, x, shape, R):
    """arcee_fusion.py op by op, each tensor op of the importance rounded to the dtype; the mask is float32."""
    row = 1 if len(shape) == 0 else shape[-1]
    importance = np.empty(base.size, F32)
    for start in range(0, base.size, row):
        a = x[start:start + row]
        b = base[start:start + row]
        p = R(softmax(a, R) + F32(1e-8))
        q = R(softmax(b, R) + F32(1e-8))
        kl = R(F32(np.sum(R(p * R(np.log(R(p / q)).astype(F32))).astype(np.float64))))
        importance[start:start + row] = R(R(np.abs(R(a - b))) * kl)
    s = np.sort(importance)
    n1 = s.size - 1
    q1, med, q3 = s[int(F32(0.25) * n1)], s[int(F32(0.5) * n1)], s[int(F32(0.75) * n1)]
    threshold = R(med + R(F32(1.5) * R(q3 - q1)))
    mask = (importance >= threshold).astype(F32)
    return (base + R(x - base) * mask).astype(F32)


def passthrough(x, scale, R):
    return x.copy() if scale is None else R(x * F32(scale))


# ---------------------------------------------------------------- cases

def main():
    global rng
    rng = np.random.default_rng(20261128)
    cases = []


    def tensor(shape, scale=1.0, dtype="float32"):
        return rounder(dtype)((rng.standard_normal(int(np.prod(shape))) * scale).astype(F32))


    def add(name, method, dtype, shape, inputs, base_index, glob, expected, tol_ulps, uniforms=None):
        cases.append({
            "name": name, "method": method, "dtype": dtype, "shape": list(shape),
            "inputs": [{"model": m, "values": v.astype(F32).tolist(), "params": p} for m, v, p in inputs],
            "base_index": base_index, "global": glob,
            "uniforms": {k: v.astype(F32).tolist() for k, v in (uniforms or {}).items()},
            "expected": np.asarray(expected, F32).tolist(), "tolerance_ulps": tol_ulps,
        })


    for dtype in ["float32", "bfloat16"]:
        R = rounder(dtype)
        exact = 0
        approx = 1 if dtype == "bfloat16" else 4  # bf16 ulps / float32 ulps (reduction order, float64 on this side)
        shape = (6, 8)
        b = tensor(shape, 1.0, dtype)
        x1 = R(b + tensor(shape, 0.1, dtype))
        x2 = R(b + tensor(shape, 0.1, dtype))
        x3 = R(b + tensor(shape, 0.1, dtype))

        # linear: three models, with and without normalisation, weights that are not exact in bf16
        for normalize in [True, False]:
            ws = [0.6, 0.3, 0.25]
            add(f"linear normalize={normalize} {dtype}", "linear", dtype, shape,
                [("a", x1, {"weight": ws[0]}), ("b", x2, {"weight": ws[1]}), ("c", x3, {"weight": ws[2]})], -1,
                {"normalize": normalize}, linear([x1, x2, x3], ws, normalize, R), exact)
        # hand-derivable: 0.6*2 + 0.4*4 normalised = 2.8
        two = np.full(4, 2, F32)
        four = np.full(4, 4, F32)
        add(f"linear hand {dtype}", "linear", dtype, (4,),
            [("a", two, {"weight": 0.5}), ("b", four, {"weight": 0.5})], -1, {"normalize": True},
            np.full(4, 3, F32), exact)

        for t in [0.0, 0.3, 1.0]:
            other = R(b + tensor(shape, 1.0, dtype))
            add(f"slerp t={t} {dtype}", "slerp", dtype, shape, [("base", b, {}), ("ft", other, {})], 0,
                {"t": t}, slerp(t, b, other, R), 1 if dtype == "bfloat16" else 2)
        add(f"slerp near-parallel lerp {dtype}", "slerp", dtype, shape, [("base", b, {}), ("ft", x1, {})], 0,
            {"t": 0.25}, slerp(0.25, b, x1, R), 1 if dtype == "bfloat16" else 2)

        for flatten, row_wise in [(True, False), (False, False), (False, True)]:
            for with_base in [False, True]:
                inputs = [("m1", x1, {"weight": 0.3}), ("m2", x2, {"weight": 0.9})]
                if with_base:
                    inputs.append(("base", b, {}))
                add(f"nuslerp flatten={flatten} row_wise={row_wise} base={with_base} {dtype}", "nuslerp", dtype, shape,
                    inputs, 2 if with_base else -1, {"nuslerp_flatten": flatten, "nuslerp_row_wise": row_wise},
                    nuslerp([x1, x2], [0.3, 0.9], b if with_base else None, flatten, row_wise, shape, R), approx)

        for with_base in [False, True]:
            inputs = [("m1", x1, {"weight": 0.5}), ("m2", x2, {"weight": 0.3}), ("m3", x3, {"weight": 0.2})]
            if with_base:
                inputs.insert(0, ("base", b, {}))
            add(f"multislerp base={with_base} {dtype}", "multislerp", dtype, shape, inputs, 0 if with_base else -1,
                {"normalize_weights": True, "eps": 1e-8},
                multislerp([x1, x2, x3], [0.5, 0.3, 0.2], b if with_base else None, True, 1e-8, R), approx)

        add(f"karcher three {dtype}", "karcher", dtype, shape, [("m1", x1, {}), ("m2", x2, {}), ("m3", R(-x3 + 0.5), {})],
            -1, {"max_iter": 10, "tol": 1e-5}, karcher([x1, x2, R(-x3 + 0.5)], 10, 1e-5, R), approx)

        def gta_case(label, method, pruning, election, glob, params, uniforms=None, shp=shape, base=b, xs=(x1, x2, x3)):
            names = ["m1", "m2", "m3"][:len(xs)]
            models = list(zip(names, xs))
            inputs = [("base", base, {})] + [(n, x, params[n]) for n, x in models]
            add(f"{label} {dtype}", method, dtype, shp, inputs, 0, glob,
                gta(base, models, params, glob, pruning, election, uniforms, shp, dtype, R), exact, uniforms)

        g = lambda normalize, rescale, lam=1.0: {"normalize": normalize, "rescale": rescale, "lambda": lam,
                                                 "int8_mask": False}
        p3 = {"m1": {"weight": 0.7}, "m2": {"weight": 0.5}, "m3": {"weight": -0.2}}
        gta_case("task_arithmetic", "task_arithmetic", None, False, g(False, False), p3)
        gta_case("task_arithmetic lambda normalize", "task_arithmetic", None, False, g(True, False, 0.8), p3)
        pd = {"m1": {"weight": 0.7, "density": 0.5}, "m2": {"weight": 0.5, "density": 0.3},
              "m3": {"weight": 0.4, "density": 0.8}}
        if dtype == "float32":  # magnitude ties are rare in float32 data only
            gta_case("ties", "ties", "magnitude", True, g(True, False), pd)
            gta_case("ties rescale lambda", "ties", "magnitude", True, g(False, True, 1.3), pd)
        # breadcrumbs needs >= 100 elements for gamma 0.01 to drop anything on top
        big = (10, 16)
        bb = tensor(big, 1.0, dtype)
        bx = [R(bb + tensor(big, 0.1, dtype)) for _ in range(3)]
        pg = {"m1": {"weight": 0.7, "density": 0.5, "gamma": 0.05}, "m2": {"weight": 0.5, "density": 0.9, "gamma": 0.2},
              "m3": {"weight": 0.4, "density": 0.6, "gamma": 0.01}}
        if dtype == "float32":
            gta_case("breadcrumbs", "breadcrumbs", "outliers", False, g(False, False), pg, shp=big, base=bb, xs=bx)
            gta_case("breadcrumbs_ties", "breadcrumbs_ties", "outliers", True, g(False, False), pg, shp=big, base=bb,
                     xs=bx)
            # quirk: fewer than 1/gamma elements -> n_top = 0 -> the whole task vector is dropped
            gta_case("breadcrumbs small tensor quirk", "breadcrumbs", "outliers", False, g(False, False),
                     {"m1": {"weight": 1.0, "density": 0.5, "gamma": 0.01}}, xs=(x1,))
        un = {n: rng.random(int(np.prod(shape))).astype(F32) for n in ["m1", "m2", "m3"]}
        gta_case("dare_linear", "dare_linear", "random", False, g(False, True), pd, un)
        gta_case("dare_ties", "dare_ties", "random", True, g(False, True), pd, un)
        gta_case("dare_ties no rescale", "dare_ties", "random", True, g(True, False), pd, un)
        pe = {"m1": {"weight": 0.7, "density": 0.5, "epsilon": 0.1}, "m2": {"weight": 0.5, "density": 0.4, "epsilon": 0.2},
              "m3": {"weight": 0.4, "density": 0.6, "epsilon": 0.15}}
        gta_case("della", "della", "magprune", True, g(True, True), pe, un)
        gta_case("della_linear", "della_linear", "magprune", False, g(False, True, 0.9), pe, un)

        for filter_wise in [False, True]:
            add(f"model_stock three filter_wise={filter_wise} {dtype}", "model_stock", dtype, shape,
                [("base", b, {}), ("m1", x1, {}), ("m2", x2, {}), ("m3", x3, {})], 0, {"filter_wise": filter_wise},
                model_stock(b, [x1, x2, x3], filter_wise, shape, R), approx)

        for topk in [1.0, 0.5]:
            add(f"sce select_topk={topk} {dtype}", "sce", dtype, shape,
                [("base", b, {}), ("m1", x1, {}), ("m2", x2, {}), ("m3", x3, {})], 0,
                {"select_topk": topk, "int8_mask": False}, sce(b, [x1, x2, x3], topk, R), approx)

        add(f"nearswap {dtype}", "nearswap", dtype, shape, [("base", b, {}), ("ft", x1, {})], 0, {"t": 0.05},
            nearswap(b, x1, 0.05, R), exact)

        wide = (4, 64)
        fb = tensor(wide, 1.0, dtype)
        fx = R(fb + tensor(wide, 0.3, dtype))
        add(f"arcee_fusion {dtype}", "arcee_fusion", dtype, wide, [("base", fb, {}), ("ft", fx, {})], 0, {},
            arcee_fusion(fb, fx, wide, R), approx)

        add(f"passthrough scale {dtype}", "passthrough", dtype, shape, [("m", x1, {"scale": 0.3})], -1, {},
            passthrough(x1, 0.3, R), exact)
        add(f"passthrough plain {dtype}", "passthrough", dtype, shape, [("m", x1, {})], -1, {},
            passthrough(x1, None, R), exact)

    json.dump({"generator": "src/test/python/method_fixtures.py", "cases": cases}, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch side of the parity harness (docs/parity.md; run it through run.sh).

For every run traced by `algen run --trace DIR` (DIR/<run id>/{init,batches}.safetensors and
trace.json), this script builds the same model in PyTorch from its equations, loads algen's
initial parameters, trains it on algen's exact batches with torch.optim.Adam/AdamW and algen's
learning-rate multipliers, and compares its training loss with the loss algen recorded, step
by step. It prints one row per run: the largest relative loss difference over steps 1-10 and
over all steps, and whether both are within the acceptance bounds (1e-4 and 1e-3). Exit code
1 when any run fails.

Numerics follow algen's: the forward pass runs in float32 (algen's parameters are f32), while
the optimizer holds float64 master weights (algen's Adam keeps theta, m and v in f64 on the
host and writes f32 copies back into the model); `--dtype float64` runs the forward pass in
float64 instead, to see how much of a gap is float32 rounding.

The models, as algen defines them (src/model/):
- transformer: token embedding (x sqrt(d) when embed_scale) + positions; blocks
  pre: x = x + A(LN1 x); x = x + F(LN2 x)
  post: x = LN1(x + A x); x = LN2(x + F x)
  lee (Lee et al. 2024): x = LN1 x; x = x + A x; x = x + F(LN2 x)
  then the final LayerNorm if the model has one (`final_ln.*`), and the head (bias if present).
  LayerNorm eps 1e-5, biased variance. F = down(act(up x)), act ReLU or exact (erf) GELU.
  A: one packed projection qkv = x W^T + b, [Q | K | V], head h at channels h*dh..(h+1)*dh of
  each; softmax(Q K^T / sqrt(dh) + position bias, masked) V, heads side by side, then `out`.
  Masks: padded keys (pad = 0) hidden; decoder: key j > query i hidden.
- positions: sinusoidal, concatenated halves PE[p, i] = sin(p w_i), PE[p, d/2 + i] = cos(p w_i),
  w_i = 10000^(-2i/d); learned: row p of pos_embed.weight; rope: rotate-half pairs (c, c + dh/2)
  of Q and K in each head rotated by p * base^(-2c/dh); alibi: slopes m_h = 2^(-8(h+1)/H), bias
  -m_h |i - j| plus 0.5 m_h when j < i in encoders (decoders: -m_h (i - j), causal).
- lstm (PyTorch): embedding, then per layer gates = x W_ih^T + b_ih + h W_hh^T + b_hh in the
  order i, f, g, o; c = s(f) c + s(i) tanh(g); h = s(o) tanh(c); h0 = c0 = 0; head on h.
- lstm (Haiku, hk.LSTM): one-hot x; gates = [x; h] W + b with W (in + H, 4H) in the order
  i, g, f, o; c = s(f + 1) c + s(i) tanh(g); h = s(o) tanh(c); head on relu(h). W and b are
  this script's own parameters, built from algen's (which stores the gates i, f, g, o).
- loss: sum over tokens of mask * cross-entropy / sum of mask.
- clipping: every gradient scaled by clip / (global norm + 1e-6) when that is below 1
  (torch.nn.utils.clip_grad_norm_), before Adam; the learning rate is lr * algen's multiplier.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file

LN_EPS = 1e-5
BOUND_10, BOUND_ALL = 1e-4, 1e-3


# ----- positions -----------------------------------------------------------------------------


def sinusoidal(t, d):
    """(t, d) float64: sin of p * w_i in the first half, cos in the second."""
    p = torch.arange(t, dtype=torch.float64)[:, None]
    w = torch.tensor([10000.0 ** (-2.0 * i / d) for i in range(d // 2)], dtype=torch.float64)
    return torch.cat([torch.sin(p * w), torch.cos(p * w)], dim=1)


def rope(x, t, base):
    """Rotates (B, H, T, dh) by position: channel c < dh/2 paired with c + dh/2."""
    dh = x.shape[-1]
    half = dh // 2
    theta = torch.tensor([base ** (-2.0 * c / dh) for c in range(half)], dtype=torch.float64)
    ang = torch.arange(t, dtype=torch.float64)[:, None] * theta  # (T, half)
    cos, sin = torch.cos(ang).to(x.dtype), torch.sin(ang).to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def alibi(heads, t, encoder, dtype):
    """(H, T, T) score bias of query i on key j."""
    m = torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)], dtype=torch.float64)
    i = torch.arange(t, dtype=torch.float64)[:, None]
    j = torch.arange(t, dtype=torch.float64)[None, :]
    before = 0.5 if encoder else 0.0
    rel = -(i - j).abs() + before * (j < i).to(torch.float64)
    return (m[:, None, None] * rel).to(dtype)


# ----- transformer ---------------------------------------------------------------------------


def layer_norm(p, name, x):
    return F.layer_norm(x, (x.shape[-1],), p[f"{name}.weight"], p[f"{name}.bias"], LN_EPS)


def linear(p, name, x):
    return F.linear(x, p[f"{name}.weight"], p.get(f"{name}.bias"))


def attention(p, name, x, cfg, pad):
    b, t, d = x.shape
    h = cfg["heads"]
    dh = d // h
    qkv = linear(p, f"{name}.qkv", x)  # (B, T, 3d)
    q, k, v = (qkv[..., i * d : (i + 1) * d].reshape(b, t, h, dh).transpose(1, 2) for i in range(3))
    pos = cfg["position"]
    if pos["kind"] == "rope":
        q, k = rope(q, t, pos["base"]), rope(k, t, pos["base"])
    s = q @ k.transpose(-1, -2) / math.sqrt(dh)  # (B, H, T, T)
    encoder = cfg["kind"] == "encoder"
    if pos["kind"] == "alibi":
        s = s + alibi(h, t, encoder, s.dtype)
    hidden = torch.zeros(b, 1, t, t, dtype=torch.bool)
    if pad is not None:
        hidden = hidden | (pad == 0)[:, None, None, :]
    if not encoder:
        hidden = hidden | torch.ones(t, t, dtype=torch.bool).triu(1)
    s = s.masked_fill(hidden, float("-inf"))
    a = torch.softmax(s, dim=-1) @ v  # (B, H, T, dh)
    return linear(p, f"{name}.out", a.transpose(1, 2).reshape(b, t, d))


def ffn(p, name, x, cfg):
    u = linear(p, f"{name}.up", x)
    u = F.gelu(u, approximate="none") if cfg.get("activation", "relu") == "gelu" else F.relu(u)
    return linear(p, f"{name}.down", u)


def transformer(p, cfg, tokens, pad):
    b, t = tokens.shape
    d = cfg["d_model"]
    scale = math.sqrt(d) if cfg.get("embed_scale") else 1.0
    x = p["tok_embed.weight"][tokens] * scale
    pos = cfg["position"]
    if pos["kind"] == "sinusoidal":
        x = x + sinusoidal(t, d).to(x.dtype)
    elif pos["kind"] == "learned":
        x = x + p["pos_embed.weight"][:t]
    elif pos["kind"] not in ("rope", "alibi", "none"):
        raise SystemExit(f"parity.py: position {pos['kind']} is not implemented here")
    if cfg.get("norm_type", "layer_norm") != "layer_norm" or cfg.get("dropout", 0.0) != 0.0:
        raise SystemExit("parity.py: only LayerNorm models without dropout are compared")
    for i in range(cfg["layers"]):
        n = f"layers.{i}"
        A = lambda z: attention(p, f"{n}.attn", z, cfg, pad)  # noqa: E731
        Fw = lambda z: ffn(p, f"{n}.ffn", z, cfg)  # noqa: E731
        if cfg["norm"] == "pre":
            x = x + A(layer_norm(p, f"{n}.ln1", x))
            x = x + Fw(layer_norm(p, f"{n}.ln2", x))
        elif cfg["norm"] == "post":
            x = layer_norm(p, f"{n}.ln1", x + A(x))
            x = layer_norm(p, f"{n}.ln2", x + Fw(x))
        elif cfg["norm"] == "lee":
            x = layer_norm(p, f"{n}.ln1", x)
            x = x + A(x)
            x = x + Fw(layer_norm(p, f"{n}.ln2", x))
        else:
            raise SystemExit(f"parity.py: norm {cfg['norm']} is not implemented here")
    if "final_ln.weight" in p:
        x = layer_norm(p, "final_ln", x)
    return linear(p, "head", x)


# ----- LSTMs ---------------------------------------------------------------------------------


def lstm_pytorch(p, cfg, tokens):
    x = p["tok_embed.weight"][tokens]  # (B, T, E)
    b, t = tokens.shape
    for layer in range(cfg["layers"]):
        n = f"lstm.{layer}"
        w_ih, w_hh = p[f"{n}.w_ih"], p[f"{n}.w_hh"]
        hid = w_hh.shape[1]
        h = torch.zeros(b, hid, dtype=x.dtype)
        c = torch.zeros(b, hid, dtype=x.dtype)
        pre = x @ w_ih.T + p[f"{n}.b_ih"] + p[f"{n}.b_hh"]  # (B, T, 4H)
        outs = []
        for s in range(t):
            z = pre[:, s] + h @ w_hh.T
            i, f, g, o = z.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        x = torch.stack(outs, dim=1)
    return linear(p, "head", x)


def haiku_params(init, layers):
    """Haiku's per-layer W (in + H, 4H) and b (4H), gates i, g, f, o, from algen's
    w_ih (4H, in), w_hh (4H, H), bias (4H), gates i, f, g, o."""
    out = {}
    for layer in range(layers):
        n = f"lstm.{layer}"
        w = np.concatenate([init[f"{n}.w_ih"], init[f"{n}.w_hh"]], axis=1).T  # (in + H, 4H)
        hid = init[f"{n}.w_hh"].shape[1]
        i, f, g, o = (slice(k * hid, (k + 1) * hid) for k in range(4))
        order = np.r_[i, g, f, o]
        out[f"{n}.W"] = w[:, order]
        out[f"{n}.b"] = init[f"{n}.bias"][order]
    out["head.weight"], out["head.bias"] = init["head.weight"], init["head.bias"]
    return out


def lstm_haiku(p, cfg, tokens, vocab_in):
    x = F.one_hot(tokens, vocab_in).to(p["head.weight"].dtype)
    b, t = tokens.shape
    for layer in range(cfg["layers"]):
        W, bias = p[f"lstm.{layer}.W"], p[f"lstm.{layer}.b"]
        hid = W.shape[1] // 4
        h = torch.zeros(b, hid, dtype=x.dtype)
        c = torch.zeros(b, hid, dtype=x.dtype)
        outs = []
        for s in range(t):
            z = torch.cat([x[:, s], h], dim=-1) @ W + bias
            i, g, f, o = z.chunk(4, dim=-1)
            c = torch.sigmoid(f + 1.0) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        x = torch.stack(outs, dim=1)
    return linear(p, "head", F.relu(x))


# ----- training ------------------------------------------------------------------------------


def masked_loss(logits, targets, mask):
    v = logits.shape[-1]
    nll = F.cross_entropy(logits.reshape(-1, v), targets.reshape(-1), reduction="none")
    m = mask.reshape(-1).to(nll.dtype)
    return (nll * m).sum() / m.sum().clamp_min(1.0)


def optimizer(params, cfg):
    o = cfg["optimizer"]
    kw = dict(lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weight_decay"])
    if o["kind"] == "adam":
        return torch.optim.Adam(params, **kw)
    if o["kind"] == "adam_w":
        return torch.optim.AdamW(params, **kw)
    raise SystemExit(f"parity.py: optimizer {o['kind']} is not implemented here")


class GradFilter:
    """Grokfast's gradient filters (Lee et al. 2024), written from the paper's Algorithms 1-2.

    EMA: mu_0 = g_0, then mu <- alpha*mu + (1-alpha)*g and g <- g + lamb*mu. MA: keep the last
    `window` raw gradients (the current one included); once `window` were seen,
    g <- g + lamb*mean(them), before that g is unchanged. Applied after clipping, before
    the optimizer step, to every parameter's gradient.
    """

    def __init__(self, cfg):
        self.kind, self.lamb = cfg["kind"], cfg["lamb"]
        if self.kind not in ("grokfast_ema", "grokfast_ma"):
            raise SystemExit(f"parity.py: gradient filter {self.kind} is not implemented here")
        self.alpha, self.window = cfg.get("alpha"), cfg.get("window")
        self.state = {}

    def apply(self, params):
        for n, t in params.items():
            g = t.grad.detach().clone()
            if self.kind == "grokfast_ema":
                mu = self.state.get(n, g)
                mu = self.alpha * mu + (1 - self.alpha) * g
                self.state[n] = mu
                t.grad = g + self.lamb * mu
            else:
                ring = self.state.setdefault(n, [])
                ring.append(g)
                if len(ring) > self.window:
                    ring.pop(0)
                if len(ring) == self.window:
                    t.grad = g + self.lamb * torch.stack(ring).mean(0)


def replay(run_dir, dtype):
    """Trains the traced run in PyTorch; returns (label, algen losses, torch losses)."""
    trace = json.loads((run_dir / "trace.json").read_text())
    init = load_file(str(run_dir / "init.safetensors"))
    batches = load_file(str(run_dir / "batches.safetensors"))
    variant = trace["variant"]
    arch, train = variant["model"]["arch"], variant["train"]
    filt = None if train.get("grad_filter") is None else GradFilter(train["grad_filter"])
    clip = train.get("clip")
    haiku = arch["arch"] == "lstm" and arch.get("style") == "haiku"
    source = haiku_params(init, arch["layers"]) if haiku else init
    order = [n for n, _ in trace["params"]] if not haiku else list(source)
    master = {n: torch.tensor(source[n], dtype=torch.float64, requires_grad=True) for n in order}
    opt = optimizer(list(master.values()), train)
    base_lr = train["optimizer"]["lr"]
    losses = []
    for s in range(1, trace["steps"] + 1):
        tokens = torch.from_numpy(batches[f"tokens_{s}"].astype(np.int64))
        targets = torch.from_numpy(batches[f"targets_{s}"].astype(np.int64))
        mask = torch.from_numpy(batches[f"mask_{s}"])
        pad = batches.get(f"pad_{s}")
        pad = None if pad is None else torch.from_numpy(pad)
        if f"ids_{s}" in batches:
            raise SystemExit("parity.py: coupled position ids are not replayed")
        p = {n: t.to(dtype) for n, t in master.items()}
        if arch["arch"] == "transformer":
            logits = transformer(p, arch, tokens, pad)
        elif haiku:
            logits = lstm_haiku(p, arch, tokens, trace["vocab_in"])
        elif arch["arch"] == "lstm":
            logits = lstm_pytorch(p, arch, tokens)
        else:
            raise SystemExit(f"parity.py: model {arch['arch']} is not implemented here")
        loss = masked_loss(logits, targets, mask)
        losses.append(loss.item())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:  # scale by clip / (norm + 1e-6) when that is below 1
            torch.nn.utils.clip_grad_norm_(list(master.values()), clip)
        if filt is not None:
            filt.apply(master)
        for g in opt.param_groups:
            g["lr"] = base_lr * trace["lr_scale"][s - 1]
        opt.step()
    label = f"{trace['task']} {variant['model']['name']} {variant['label']}"
    return label, trace["loss"], losses


def rel_diff(a, b):
    return max(abs(x - y) / max(abs(x), 1e-12) for x, y in zip(a, b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace_dir", type=Path, help="the --trace DIR of `algen run`")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--curves", type=Path, help="write both loss curves of every run as JSON here")
    ap.add_argument(
        "--strict",
        type=float,
        metavar="BOUND",
        help="also fail a run whose difference over all steps exceeds BOUND (float32 noise is ~2e-7)",
    )
    args = ap.parse_args()
    torch.manual_seed(0)
    dtype = getattr(torch, args.dtype)
    runs = sorted(d for d in args.trace_dir.iterdir() if (d / "trace.json").exists())
    if not runs:
        raise SystemExit(f"parity.py: no traced run under {args.trace_dir}")
    rows, curves, ok = [], {}, True
    for d in runs:
        label, ours, theirs = replay(d, dtype)
        r10, rall = rel_diff(ours[:10], theirs[:10]), rel_diff(ours, theirs)
        passed = r10 <= BOUND_10 and rall <= BOUND_ALL and (args.strict is None or rall <= args.strict)
        ok &= passed
        rows.append((label, len(ours), ours[0], ours[-1], r10, rall, "pass" if passed else "FAIL"))
        curves[d.name] = {"label": label, "algen": ours, "torch": theirs}
    print(f"| task, model, variant | steps | loss 1 -> last (algen) | max rel diff 1-10 | max rel diff 1-{rows[0][1]} | |")
    print("|---|---|---|---|---|---|")
    for label, n, first, last, r10, rall, verdict in sorted(rows):
        print(f"| {label} | {n} | {first:.4f} -> {last:.4f} | {r10:.2e} | {rall:.2e} | {verdict} |")
    strict = "" if args.strict is None else f", strict {args.strict:g} (all)"
    print(f"\nforward in {args.dtype}, optimizer in float64; bounds {BOUND_10:g} (steps 1-10), {BOUND_ALL:g} (all){strict}")
    if args.curves:
        args.curves.write_text(json.dumps(curves, indent=1))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

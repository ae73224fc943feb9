"""Workload W in PyTorch eager: the baseline that `benches/speed.rs` is compared with.

W (specs/bench/w.alg): reverse over {0,1} in the `transduce` format (input ++ N query
tokens, loss on the N query positions), an encoder transformer with 5 post-norm layers,
d_model 64, 8 heads, ffn 256, sinusoidal positions (sin half | cos half), embeddings scaled
by sqrt(d), batch 128, Adam lr 1e-3, f32, one length per step with no padding; evaluation
on 256 inputs of length 500 (sequence length 1000) in batches of 64.

The step lengths come from `--lengths FILE` (one integer per line, written by
`cargo bench --bench speed`, so both frameworks train on the same batch shapes) or are
drawn uniformly from 1..=40.

    python benches/w_torch.py --lengths target/bench/w_lengths.txt [--impl nn|sdpa|explicit|lstm]
                              [--compile-eval] [--out target/bench/torch.jsonl]

`--impl explicit` writes attention out as `softmax(Q Kᵀ/√dh) V` (the fastest eager variant
for W on a CPU); `--impl lstm` runs the 2-layer, 256-unit LSTM of specs/bench/w_lstm.alg instead.

Prints one JSON line: train_steps_per_s, eval_seqs_per_s (and eval_seqs_per_s_compiled).
Not part of the test suite: it needs a PyTorch install and is run by hand for the
speed table in the notes.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def sinusoidal(n, d):
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    w = torch.pow(10000.0, -2.0 * torch.arange(d // 2, dtype=torch.float64) / d)[None, :]
    return torch.cat([torch.sin(pos * w), torch.cos(pos * w)], dim=1).float()


class Block(nn.Module):
    """A hand-written post-norm block: one packed QKV projection and either fused SDPA
    attention or, with `explicit`, `softmax(Q Kᵀ / √dh) V` written out (the faster of the two
    for W's head width of 8 on a CPU)."""

    def __init__(self, d, heads, ffn, explicit=False):
        super().__init__()
        self.heads, self.explicit = heads, explicit
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.up, self.down = nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if self.explicit:
            w = torch.softmax(q @ k.transpose(-2, -1) * (1.0 / math.sqrt(d // self.heads)), dim=-1)
            a = (w @ v).transpose(1, 2).reshape(b, t, d)
        else:
            a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.out(a))
        return self.ln2(x + self.down(F.relu(self.up(x))))


class WLstm(nn.Module):
    """specs/bench/w_lstm.alg: embedding 256, `nn.LSTM(256, 256, 2)`, a linear head."""

    def __init__(self, vocab_in=3, vocab_out=2, hidden=256, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab_in, hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_out)

    def forward(self, tokens):
        return self.head(self.lstm(self.embed(tokens))[0])


class W(nn.Module):
    """`impl = "nn"`: torch.nn.TransformerEncoder; `"sdpa"` / `"explicit"`: hand-written blocks
    with SDPA or explicit attention."""

    def __init__(self, impl="nn", vocab_in=3, vocab_out=2, d=64, heads=8, ffn=256, layers=5):
        super().__init__()
        self.d = d
        self.embed = nn.Embedding(vocab_in, d)
        if impl == "nn":
            layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout=0.0, batch_first=True, norm_first=False)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        else:
            self.encoder = nn.Sequential(*[Block(d, heads, ffn, impl == "explicit") for _ in range(layers)])
        self.head = nn.Linear(d, vocab_out)
        self.register_buffer("pe", sinusoidal(1024, d), persistent=False)

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.embed(tokens) * math.sqrt(self.d) + self.pe[:t]
        return self.head(self.encoder(x))


def batch(rng, b, n):
    """Inputs (b, 2n): bits then n query tokens (id 2); targets: the reversed bits."""
    bits = torch.randint(0, 2, (b, n), generator=rng)
    tokens = torch.cat([bits, torch.full((b, n), 2, dtype=torch.long)], dim=1)
    return tokens, bits.flip(1)


def train(model, lengths, rng):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    warmup, secs = 3, 0.0
    for i, n in enumerate(lengths):
        t0 = time.perf_counter()
        tokens, targets = batch(rng, 128, n)
        logits = model(tokens)[:, n:]
        loss = F.cross_entropy(logits.reshape(-1, 2), targets.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            secs += time.perf_counter() - t0
    return (len(lengths) - warmup) / secs


def evaluate(fn, rng, count=256, bs=64, n=500):
    done, secs = 0, 0.0
    with torch.no_grad():
        fn(batch(rng, bs, n)[0])  # warm-up (and compilation)
        while done < count:
            tokens, _ = batch(rng, bs, n)
            t0 = time.perf_counter()
            fn(tokens).argmax(-1)
            secs += time.perf_counter() - t0
            done += bs
    return done / secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", help="file with one training length per line")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--impl", choices=["nn", "sdpa", "explicit", "lstm"], default="nn",
                    help="torch.nn transformer layers, hand-written blocks with SDPA or explicit attention, "
                    "or the LSTM of w_lstm.alg")
    ap.add_argument("--skip-eval", action="store_true", help="time training only")
    ap.add_argument("--out", help="also append the JSON line to this file (for `cargo bench --bench speed -- --torch FILE`)")
    ap.add_argument("--compile-eval", action="store_true", help="also time evaluation under torch.compile")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(0)
    if a.lengths:
        lengths = [int(x) for x in open(a.lengths).read().split()]
    else:
        r = random.Random(0)
        lengths = [r.randint(1, 40) for _ in range(a.steps)]
    model = WLstm() if a.impl == "lstm" else W(a.impl)
    out = {"torch": torch.__version__, "impl": a.impl, "threads": torch.get_num_threads(), "steps": len(lengths)}
    # The load before the run (as `cargo bench --bench speed` prints it): above the CPU count
    # other work competes, and the rates are not comparable.
    if hasattr(os, "getloadavg"):
        out["load_before"] = round(os.getloadavg()[0], 2)
        if out["load_before"] > (os.cpu_count() or 1) + 0.5:
            print(f"WARNING: load average {out['load_before']} on {os.cpu_count()} CPUs: the machine is busy", file=sys.stderr)
    out["train_steps_per_s"] = train(model, lengths, rng)
    model.eval()
    if not a.skip_eval:
        out["eval_seqs_per_s"] = evaluate(model, rng)
    if a.compile_eval:
        out["eval_seqs_per_s_compiled"] = evaluate(torch.compile(model), rng)
    print(json.dumps(out))
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()

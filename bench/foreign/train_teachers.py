"""Foreign teachers for minnow: a BERT-style encoder classifier on spam and a GPT-style decoder on
Moby Dick, written and trained in PyTorch and exported by torch.onnx.export, the way a team's own
models reach minnow. The ids come from bench/foreign/prepare.ts (tokenizers.js, minnow's splits).

    npx tsx bench/foreign/prepare.ts --out runs/foreign
    /usr/bin/python3 bench/foreign/train_teachers.py --dir runs/foreign [--minutes 4]

Debian's python3-torch (not a pyenv python). --tiny trains the test fixtures (tests/fixtures/foreign):
one small layer, a few steps, and an extra non-logits output for the shape error.
Writes bert.onnx and gpt.onnx into --dir and prints one JSON line of figures per teacher.
"""
import argparse
import json
import math
import os
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, bias):
        b, s, d = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads) + bias, dim=-1)
        return self.out((probs @ v).transpose(1, 2).reshape(b, s, d)), probs


class Block(nn.Module):
    """post_ln: BERT's order (LayerNorm after each residual); otherwise GPT-2's (before)."""

    def __init__(self, dim, heads, ff, post_ln):
        super().__init__()
        self.post_ln = post_ln
        self.attn = Attention(dim, heads)
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.GELU(), nn.Linear(ff, dim))

    def forward(self, x, bias):
        if self.post_ln:
            a, probs = self.attn(x, bias)
            x = self.ln1(x + a)
            return self.ln2(x + self.ff(x)), probs
        a, probs = self.attn(self.ln1(x), bias)
        x = x + a
        return x + self.ff(self.ln2(x)), probs


class Bert(nn.Module):
    """input_ids, attention_mask, token_type_ids -> logits [batch, classes] from the [CLS] position."""

    def __init__(self, vocab, classes, dim, layers, heads, ff, max_len, extra_output=False):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)
        self.position_embeddings = nn.Embedding(max_len, dim)
        self.token_type_embeddings = nn.Embedding(2, dim)
        self.ln = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList(Block(dim, heads, ff, True) for _ in range(layers))
        self.pooler = nn.Linear(dim, dim)
        self.classifier = nn.Linear(dim, classes)
        self.extra_output = extra_output

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        x = self.ln(x)
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -1e4
        first = None
        for block in self.blocks:
            x, probs = block(x, bias)
            first = probs if first is None else first
        logits = self.classifier(torch.tanh(self.pooler(x[:, 0])))
        return (logits, first) if self.extra_output else logits


class Gpt(nn.Module):
    """input_ids, position_ids -> logits [batch, seq, vocab], causal, embeddings tied to the head."""

    def __init__(self, vocab, dim, layers, heads, ff, ctx):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, dim)
        self.pos_emb = nn.Embedding(ctx, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, ff, False) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)
        for emb in (self.tok_emb, self.pos_emb):
            nn.init.normal_(emb.weight, std=0.02)  # GPT-2's; N(0, 1) makes the tied head's logits huge

    def forward(self, input_ids, position_ids):
        s = input_ids.shape[1]
        x = self.tok_emb(input_ids) + self.pos_emb(position_ids)
        bias = torch.triu(torch.full((s, s), -1e4, device=x.device), diagonal=1)
        for block in self.blocks:
            x, _ = block(x, bias)
        return self.ln_f(x) @ self.tok_emb.weight.t()


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def pad_batch(rows, pad_id):
    length = max(len(r["ids"]) for r in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r["ids"])] = torch.tensor(r["ids"])
        mask[i, : len(r["ids"])] = 1
    return ids, mask, torch.tensor([r["label"] for r in rows])


def accuracy(model, rows, pad_id):
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(rows), 128):
            ids, mask, labels = pad_batch(rows[i : i + 128], pad_id)
            out = model(ids, mask, torch.zeros_like(ids))
            logits = out[0] if isinstance(out, tuple) else out
            right += (logits.argmax(-1) == labels).sum().item()
    model.train()
    return right / len(rows)


def train_bert(d, args):
    tok = json.load(open(os.path.join(d, "bert-tokenizer.json")))
    vocab, pad_id = len(tok["model"]["vocab"]), tok["model"]["vocab"]["[PAD]"]
    train, val, test = (read_jsonl(os.path.join(d, f"spam-{s}.jsonl")) for s in ("train", "validation", "test"))
    max_len = max(len(r["ids"]) for r in train + val + test)
    dims = dict(dim=16, layers=1, heads=2, ff=32) if args.tiny else dict(dim=128, layers=2, heads=4, ff=512)
    model = Bert(vocab, 2, max_len=max_len, extra_output=args.tiny, **dims)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    start, best, best_state, epoch = time.time(), -1.0, None, 0
    while time.time() - start < args.minutes * 60 and epoch < args.epochs:
        random.Random(epoch).shuffle(train)
        for i in range(0, len(train), 32):
            ids, mask, labels = pad_batch(train[i : i + 32], pad_id)
            out = model(ids, mask, torch.zeros_like(ids))
            loss = F.cross_entropy(out[0] if args.tiny else out, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        epoch += 1
        acc = accuracy(model, val, pad_id)
        print(json.dumps({"bert_epoch": epoch, "val_accuracy": round(acc, 4), "s": round(time.time() - start)}), flush=True)
        if acc > best:
            best, best_state = acc, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()
    ids, mask, _ = pad_batch(train[:2], pad_id)
    outputs = ["logits", "attentions"] if args.tiny else ["logits"]
    axes = {n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "token_type_ids")}
    axes["logits"] = {0: "batch"}
    if args.tiny:
        axes["attentions"] = {0: "batch", 2: "seq", 3: "seq"}
    torch.onnx.export(model, (ids, mask, torch.zeros_like(ids)), os.path.join(d, "bert.onnx"), input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=outputs, dynamic_axes=axes, opset_version=14)
    figures = {"teacher": "bert", "epochs": epoch, "val_accuracy": best, "test_accuracy": accuracy(model, test, pad_id),
               "params": sum(p.numel() for p in model.parameters()), "max_len": max_len, "seconds": round(time.time() - start)}
    print(json.dumps(figures), flush=True)


def lm_loss(model, tokens, ctx, batch=16):
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(tokens) - ctx - 1, ctx * batch):
            starts = range(i, min(i + ctx * batch, len(tokens) - ctx - 1), ctx)
            x = torch.stack([tokens[s : s + ctx] for s in starts])
            y = torch.stack([tokens[s + 1 : s + ctx + 1] for s in starts])
            logits = model(x, torch.arange(ctx).expand_as(x))
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
            n += y.numel()
    model.train()
    return total / n


def train_gpt(d, args):
    tok = json.load(open(os.path.join(d, "gpt-tokenizer.json")))
    vocab = max(max(tok["model"]["vocab"].values()), max(t["id"] for t in tok["added_tokens"])) + 1
    train, val = (torch.tensor(json.load(open(os.path.join(d, f"moby-{s}.json")))) for s in ("train", "validation"))
    ctx = 32 if args.tiny else 128
    dims = dict(dim=16, layers=1, heads=2, ff=32) if args.tiny else dict(dim=256, layers=4, heads=4, ff=1024)
    model = Gpt(vocab, ctx=ctx, **dims)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3 if args.tiny else 6e-4, weight_decay=0.01)
    rng = random.Random(0)
    start, step, best, best_state = time.time(), 0, float("inf"), None
    steps_per_eval = 50
    while time.time() - start < args.minutes * 60 and step < args.gpt_steps:
        starts = [rng.randrange(len(train) - ctx - 1) for _ in range(16)]
        x = torch.stack([train[s : s + ctx] for s in starts])
        y = torch.stack([train[s + 1 : s + ctx + 1] for s in starts])
        logits = model(x, torch.arange(ctx).expand_as(x))
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % steps_per_eval == 0 or args.tiny:
            val_loss = lm_loss(model, val, ctx)
            print(json.dumps({"gpt_step": step, "train_loss": round(loss.item(), 4), "val_loss": round(val_loss, 4), "s": round(time.time() - start)}), flush=True)
            if val_loss < best:
                best, best_state = val_loss, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()
    x = train[:ctx].unsqueeze(0)
    torch.onnx.export(model, (x, torch.arange(ctx).unsqueeze(0)), os.path.join(d, "gpt.onnx"), input_names=["input_ids", "position_ids"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "position_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}, opset_version=14)
    figures = {"teacher": "gpt", "steps": step, "val_loss": best, "params": sum(p.numel() for p in model.parameters()), "ctx": ctx, "vocab": vocab,
               "seconds": round(time.time() - start)}
    print(json.dumps(figures), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", default="runs/foreign")
    p.add_argument("--minutes", type=float, default=4.0, help="training time per teacher at most")
    p.add_argument("--epochs", type=int, default=8, help="BERT epochs at most")
    p.add_argument("--gpt-steps", type=int, default=100000, help="GPT steps at most")
    p.add_argument("--only", choices=["bert", "gpt"])
    p.add_argument("--tiny", action="store_true")
    args = p.parse_args()
    if args.tiny:
        args.epochs, args.gpt_steps = 1, 3
    torch.manual_seed(0)
    if args.only != "gpt":
        train_bert(args.dir, args)
    if args.only != "bert":
        train_gpt(args.dir, args)


if __name__ == "__main__":
    main()

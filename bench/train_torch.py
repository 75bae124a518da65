"""Worker for bench/train.ts: the same pre-LN Transformer LM and training step as bench/train-minnow.ts
in PyTorch (Debian python3-torch). Prints one JSON line."""
import json, math, resource, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)

class Block(nn.Module):
    def __init__(self, d, h, ff):
        super().__init__()
        self.h = h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, ff), nn.Linear(ff, d)
    def forward(self, x, mask):
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=-1)
        q, k, v = (t.view(B, T, self.h, D // self.h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D // self.h) + mask[:T, :T]
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.out(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))

class LM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.tok = nn.Embedding(c["vocab"], c["dim"])
        self.pos = nn.Embedding(c["ctx"], c["dim"])
        self.blocks = nn.ModuleList([Block(c["dim"], c["heads"], c["ff"]) for _ in range(c["layers"])])
        self.ln = nn.LayerNorm(c["dim"])
        self.head = nn.Linear(c["dim"], c["vocab"], bias=False)
        self.register_buffer("mask", torch.triu(torch.full((c["ctx"], c["ctx"]), -1e9), 1))
    def forward(self, ids):
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1]))
        for b in self.blocks:
            x = b(x, self.mask)
        return self.head(self.ln(x))

model = LM(cfg)
opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
g = torch.Generator().manual_seed(1)
batches = [(torch.randint(cfg["vocab"], (cfg["batch"], cfg["ctx"]), generator=g),
            torch.randint(cfg["vocab"], (cfg["batch"], cfg["ctx"]), generator=g)) for _ in range(4)]

def step(i):
    ids, labels = batches[i % 4]
    loss = F.cross_entropy(model(ids).view(-1, cfg["vocab"]), labels.view(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()

for i in range(cfg["warmup"]):
    step(i)
times, loss = [], 0.0
for i in range(cfg["steps"]):
    t = time.perf_counter()
    loss = step(i)
    times.append(time.perf_counter() - t)
times.sort()
median = times[len(times) // 2]
print(json.dumps({
    "impl": "pytorch", "torch": torch.__version__, "params": sum(p.numel() for p in model.parameters()),
    "samples_per_s": cfg["batch"] / median, "step_s_median": median,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "final_loss": loss,
}))

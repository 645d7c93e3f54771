#!/usr/bin/python3
"""make_fixtures.py - PyTorch golden files for the contrastive kernels (runtime/ssl/).

Run by hand (not by CI), from the repository root:
    /usr/bin/python3 tools/make_fixtures.py [outdir]      (default: tests/fixtures)
Needs Debian's python3-torch (`apt-get install python3-torch`; any torch >= 1.8
works). It writes small safetensors files with a tiny pure-Python writer (torch
1.13 has no safetensors support); tests/c/test_ssl_fixtures.c reads them back.

Each loss is computed with torch autograd exactly as its reference does:
  ssl_infonce.safetensors   MoCo moco/builder.py: l_pos = einsum('nc,nc->n', q, k),
                            l_neg = einsum('nc,ck->nk', q, queue) with the queue
                            stored [dim x K] as MoCo does (the file holds it as
                            [K x D] rows, the layout sslab uses), logits / T,
                            CrossEntropyLoss with labels 0. Also per-query negatives.
  ssl_ntxent.safetensors    SimCLR objective.py add_contrastive_loss (hidden_norm
                            done beforehand): logits_aa/bb masked with LARGE_NUM,
                            loss_a + loss_b; `loss_simclr` is that value, `loss`
                            and `grad` are for half of it (mean over the 2N rows).
  ssl_membank.safetensors   lemniscate lib/NCEAverage.py + lib/NCECriterion.py
                            (Z estimated from this batch as out.mean() * Nd, then a
                            constant), lib/LinearAverage.py + CrossEntropyLoss
                            (full softmax), and the momentum update of the bank.
Inputs are float32; the references are computed in float64 from them.
"""
import json
import os
import struct
import sys

try:
    import torch
except ImportError:
    sys.exit("make_fixtures.py: cannot import torch; install Debian's python3-torch "
             "(apt-get install python3-torch) and run this with /usr/bin/python3")

DT = {torch.float32: ("F32", 4), torch.int64: ("I64", 8)}


def write_safetensors(path, tensors, metadata):
    """8-byte little-endian header length, JSON header (padded with spaces to
    a multiple of 8), then the raw little-endian row-major data."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    # the Python safetensors package's order: larger dtype alignment first, then by name
    for name in sorted(tensors, key=lambda n: (-DT[tensors[n].dtype][1], n)):
        t = tensors[name].detach().contiguous().cpu()
        dtype, size = DT[t.dtype]
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        assert len(data) == t.numel() * size
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    print("wrote %s (%d bytes)" % (path, 8 + len(h) + offset))


def unit_rows(g, n, d):
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    return torch.nn.functional.normalize(x, dim=1).float()


def scalar(v):
    return torch.tensor([float(v)], dtype=torch.float32)


def infonce(g):
    N, D, K, M, T = 6, 16, 40, 9, 0.2
    q32, k32, queue32 = unit_rows(g, N, D), unit_rows(g, N, D), unit_rows(g, K, D)
    q = q32.double().requires_grad_()
    k = k32.double().requires_grad_()
    queue_ck = queue32.double().t()  # MoCo's buffer layout [dim x K]
    l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
    l_neg = torch.einsum("nc,ck->nk", [q, queue_ck])
    logits = torch.cat([l_pos, l_neg], dim=1) / T
    labels = torch.zeros(logits.shape[0], dtype=torch.long)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    out = {"q": q32, "k": k32, "queue": queue32, "T": scalar(T), "loss": scalar(loss.item()),
           "logits": logits.detach().float(), "grad_q": q.grad.float(), "grad_k": k.grad.float()}

    # per-query negatives [N x M x D]
    neg32 = unit_rows(g, N * M, D).view(N, M, D)
    q = q32.double().requires_grad_()
    k = k32.double().requires_grad_()
    neg = neg32.double().requires_grad_()
    l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
    l_neg = torch.einsum("nc,nmc->nm", [q, neg])
    logits = torch.cat([l_pos, l_neg], dim=1) / T
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    out.update({"pq_neg": neg32, "pq_loss": scalar(loss.item()), "pq_grad_q": q.grad.float(),
                "pq_grad_k": k.grad.float(), "pq_grad_neg": neg.grad.float()})
    return out


def ntxent(g):
    N, D, T, LARGE_NUM = 5, 12, 0.5, 1e9
    z32 = unit_rows(g, 2 * N, D)
    z = z32.double().requires_grad_()
    h1, h2 = z[:N], z[N:]
    labels = torch.arange(N)
    masks = torch.eye(N, dtype=torch.float64)
    logits_aa = h1 @ h1.t() / T - masks * LARGE_NUM
    logits_bb = h2 @ h2.t() / T - masks * LARGE_NUM
    logits_ab = h1 @ h2.t() / T
    logits_ba = h2 @ h1.t() / T
    loss_a = torch.nn.functional.cross_entropy(torch.cat([logits_ab, logits_aa], 1), labels)
    loss_b = torch.nn.functional.cross_entropy(torch.cat([logits_ba, logits_bb], 1), labels)
    loss_simclr = loss_a + loss_b
    loss = loss_simclr / 2  # mean over the 2N rows
    loss.backward()
    return {"z": z32, "T": scalar(T), "loss": scalar(loss.item()), "loss_simclr": scalar(loss_simclr.item()),
            "grad": z.grad.float()}


def membank(g):
    B, D, Nd, M, T, momentum = 6, 16, 50, 8, 0.1, 0.5
    feat32, bank32 = unit_rows(g, B, D), unit_rows(g, Nd, D)
    pos = torch.randperm(Nd, generator=g)[:B]
    neg = torch.randint(0, Nd, (B, M), generator=g)
    idx = torch.cat([pos.view(B, 1), neg], 1)  # NCEAverage: idx.select(1, 0).copy_(y)
    x = feat32.double().requires_grad_()
    memory = bank32.double()

    # NCEFunction.forward (Z < 0: estimated from this batch) + NCECriterion
    weight = memory.index_select(0, idx.view(-1)).view(B, M + 1, D)
    with torch.no_grad():
        out0 = torch.exp(torch.bmm(weight, x.view(B, D, 1)) / T)
        Z = float(torch.tensor(out0.mean().item() * Nd, dtype=torch.float32))  # params is a float32 buffer
    out = (torch.exp(torch.bmm(weight, x.view(B, D, 1)) / T) / Z).view(B, M + 1)
    eps, Pn = 1e-7, 1.0 / Nd
    Pmt = out.select(1, 0)
    lnPmt = torch.log(Pmt / (Pmt + M * Pn + eps))
    Pon_div = out.narrow(1, 1, M) + (M * Pn + eps)
    lnPon = torch.log((M * Pn) / Pon_div)
    loss = -(lnPmt.sum(0) + lnPon.view(-1, 1).sum(0)) / B
    loss.backward()
    res = {"features": feat32, "bank": bank32, "pos": pos, "neg": neg, "T": scalar(T), "Z": scalar(Z),
           "nce_loss": scalar(loss.item()), "nce_prob": out.detach().float(), "nce_grad": x.grad.float()}

    # LinearAverage + CrossEntropyLoss (full softmax over the Nd entries)
    x = feat32.double().requires_grad_()
    logits = x @ memory.t() / T
    loss = torch.nn.functional.cross_entropy(logits, pos)
    loss.backward()
    res.update({"softmax_loss": scalar(loss.item()), "softmax_grad": x.grad.float()})

    # the update in NCEFunction.backward
    weight_pos = memory.index_select(0, pos) * momentum + feat32.double() * (1 - momentum)
    updated = weight_pos / weight_pos.pow(2).sum(1, keepdim=True).pow(0.5)
    new_bank = memory.clone()
    new_bank.index_copy_(0, pos, updated)
    res.update({"momentum": scalar(momentum), "bank_updated": new_bank.float()})
    return res


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "fixtures")
    os.makedirs(outdir, exist_ok=True)
    meta = {"generator": "tools/make_fixtures.py", "torch": torch.__version__}
    for name, fn, seed in (("infonce", infonce, 1), ("ntxent", ntxent, 2), ("membank", membank, 3)):
        g = torch.Generator().manual_seed(seed)
        write_safetensors(os.path.join(outdir, "ssl_%s.safetensors" % name), fn(g), meta)


if __name__ == "__main__":
    main()

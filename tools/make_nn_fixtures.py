#!/usr/bin/python3
"""make_nn_fixtures.py - PyTorch/torchvision reference files for the sslab ResNets.

Run by hand (not by CI), from the repository root:
    /usr/bin/python3 tools/make_nn_fixtures.py [outdir]      (default: tests/fixtures)
    /usr/bin/python3 tools/make_nn_fixtures.py --check FILE [--arch ARCH]
Needs Debian's python3-torch and python3-torchvision
(`apt-get install python3-torch python3-torchvision`; written against torch 1.13 /
torchvision 0.14). tests/lua/test_nn_fixtures.lua reads the files back.

The models are built from torchvision's own classes (torchvision.models.resnet.ResNet,
BasicBlock, Bottleneck), so the state_dict names are exactly torchvision's:

  nn_resnet18_cifar_w8.safetensors  ResNet(BasicBlock, [2, 2, 2, 2]) with the CIFAR stem
        (conv1 = 3x3/1 pad 1, maxpool = Identity) and width 8 (stages 8/16/32/64),
        10 classes, 3 input channels; input x [4x3x16x16].
  nn_bottleneck.safetensors         Bottleneck(16, 8, stride 2, downsample = conv1x1(16, 32, /2)
        + BatchNorm2d(32)), the torchvision v1.5 block; input x [4x16x8x8].
  nn_resnet50_w2.safetensors        ResNet(Bottleneck, [3, 4, 6, 3]) with the ImageNet stem
        (7x7/2 conv, 3x3/2 max-pool) and width 2 (stages 2/4/8/16, outputs x4), 10 classes;
        input x [2x3x48x48]; forward only (eval and train mode).

Initialisation (torch.manual_seed per model): convolutions as torchvision (kaiming_normal_,
fan_out, relu), fc as nn.Linear's default; then every BatchNorm gets non-trivial values so that
each of them matters: weight ~ U(0.5, 1.5), bias ~ 0.1 N(0, 1), running_mean ~ 0.1 N(0, 1),
running_var ~ U(0.5, 1.5), num_batches_tracked = 5. The float32 values are what is stored;
the references are computed in float64 from them (model.double()) and stored as float32.

Tensors in each file (names of the state dict `<k>` are torchvision's):
  sd.<k>       the initial state_dict (parameters and buffers; num_batches_tracked int64 0-d),
               exactly what load_state_dict(strict=True) takes after stripping 'sd.'.
  x            the input; r: a fixed N(0, 1) tensor shaped like the output.
  y_eval       model.eval(); y = model(x) (running statistics; nothing changes).
  y_train      model.train(); y = model(x) (batch statistics, unbiased running_var update).
  stats.<k>    running_mean / running_var / num_batches_tracked of every BN after that forward.
  loss         sum(y_train * r) (double), the loss that is backpropagated.
  grad.<k>     d loss / d parameter (model.zero_grad() before; the gradient of sum(y * r)
               w.r.t. y is r, so sslab's model:backward(x, r) must give the same).
  grad_x       d loss / d x.
  step1.<k>    parameters after torch.optim.SGD(lr=LR, momentum=0.9, weight_decay=5e-4,
               dampening=0, nesterov=False).step() (fresh momentum buffers: buf = g).
  step2.<k>    then: zero_grad, train forward of x2, backward of sum(y * r2), step() again
               (buf = 0.9 buf + g): momentum and the second gradient matter.
  x2, r2       the input and output weights of that second iteration.
  stats2.<k>   the BN buffers after the second forward.
  sgd_wd.<k>, sgd_nesterov.<k>, sgd_dampening.<k>   (bottleneck only) the optimiser alone: from sd.<k>
               with the gradients grad.<k>, two torch.optim.SGD(lr=LR, momentum=0.9, weight_decay=0.05
               [, nesterov=True | dampening=0.5]) steps with that same gradient (metadata sgd_variants).
The bottleneck and the ResNet-18 have everything; the ResNet-50 only sd, x, y_eval, y_train,
stats. To keep the files small, grad/step1/step2 of a parameter with more than SAMPLE (1024)
elements hold only the strided sample flat[::s], s = ceil(numel / SAMPLE) (the ResNet-18's
weights alone are 700 KB); everything else is complete. The metadata says so (sample, lr, ...).

--check FILE: loads a safetensors file written by sslab (sslab.save(path, model:state_dict()))
into the torchvision model with load_state_dict(strict=True) and reports success; ARCH
(resnet18_cifar_w8, bottleneck, resnet50_w2; default: guessed from conv1.weight) picks the model.
If FILE holds the fixture's weights (sslab loaded them and saved them again), it also reports the
largest difference from the fixture's sd.* tensors.
"""
import json
import math
import os
import struct
import sys

try:
    import torch
    import torch.nn as nn
    import torchvision
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
except ImportError as e:
    sys.exit("make_nn_fixtures.py: %s; install Debian's python3-torch and python3-torchvision "
             "(apt-get install python3-torch python3-torchvision) and run this with /usr/bin/python3" % e)

SAMPLE = 1024
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 5e-4
DT = {torch.float32: ("F32", 4), torch.int64: ("I64", 8)}
DT_BACK = {"F32": torch.float32, "I64": torch.int64, "U8": torch.uint8}


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402  (the one pure-Python writer)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        dt = DT_BACK[info["dtype"]]
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + b:base + e]), dtype=dt) if e > b else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out, meta


# {======================================================================
# models, from torchvision's classes
# =======================================================================

def torchvision_init(model):
    """What ResNet.__init__ does to its modules, then non-trivial BatchNorm values (see the docstring)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c) + 0.5)
                m.bias.copy_(0.1 * torch.randn(c))
                m.running_mean.copy_(0.1 * torch.randn(c))
                m.running_var.copy_(torch.rand(c) + 0.5)
                m.num_batches_tracked.fill_(5)
    return model


def resnet(block, layers, width, stem, num_classes=10, in_channels=3):
    """torchvision's ResNet with stage widths width x {1, 2, 4, 8} and a 'cifar' (3x3/1 conv, no
    max-pool) or 'imagenet' stem: built at full width, then conv1/bn1/maxpool/layer1..4/fc replaced
    exactly as ResNet.__init__ builds them (same _make_layer), so every name is torchvision's."""
    m = ResNet(block, [1, 1, 1, 1], num_classes=num_classes)  # small throwaway layers, replaced below
    m.inplanes = width
    if stem == "cifar":
        m.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, stride=1, padding=1, bias=False)
        m.maxpool = nn.Identity()
    else:
        m.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = nn.BatchNorm2d(width)
    m.layer1 = m._make_layer(block, width, layers[0])
    m.layer2 = m._make_layer(block, width * 2, layers[1], stride=2)
    m.layer3 = m._make_layer(block, width * 4, layers[2], stride=2)
    m.layer4 = m._make_layer(block, width * 8, layers[3], stride=2)
    m.fc = nn.Linear(width * 8 * block.expansion, num_classes)
    return torchvision_init(m)


def resnet18_cifar_w8():
    return resnet(BasicBlock, [2, 2, 2, 2], 8, "cifar")


def resnet50_w2():
    return resnet(Bottleneck, [3, 4, 6, 3], 2, "imagenet")


def bottleneck():
    down = nn.Sequential(nn.Conv2d(16, 32, kernel_size=1, stride=2, bias=False), nn.BatchNorm2d(32))
    return torchvision_init(Bottleneck(16, 8, stride=2, downsample=down))


ARCHS = {"resnet18_cifar_w8": resnet18_cifar_w8, "bottleneck": bottleneck, "resnet50_w2": resnet50_w2}

# }======================================================================


def sample(t):
    """t itself, or the strided sample flat[::s] of a tensor with more than SAMPLE elements."""
    flat = t.detach().reshape(-1)
    if flat.numel() <= SAMPLE:
        return t.detach()
    return flat[::math.ceil(flat.numel() / SAMPLE)].clone()


def f32(t):
    return t.detach().float() if t.is_floating_point() else t.detach().clone()


def bn_stats(model, prefix):
    out = {}
    for k, v in model.state_dict().items():
        if k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            out[prefix + k] = f32(v)
    return out


def fixture(model, x_shape, seed, train_steps):
    """The tensors of one file (see the docstring); model holds float32 initial values."""
    g = torch.Generator().manual_seed(seed + 1000)
    out = {"sd." + k: f32(v) for k, v in model.state_dict().items()}
    model = model.double()
    x = torch.randn(x_shape, generator=g)
    out["x"] = x
    x = x.double()
    model.eval()
    with torch.no_grad():
        out["y_eval"] = f32(model(x))
    model.train()
    if not train_steps:
        with torch.no_grad():
            out["y_train"] = f32(model(x))
        out.update(bn_stats(model, "stats."))
        return out

    params = dict(model.named_parameters())
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    model.zero_grad()
    xg = x.clone().requires_grad_()
    y = model(xg)
    out["y_train"] = f32(y)
    out.update(bn_stats(model, "stats."))
    r = torch.randn(y.shape, generator=g)
    out["r"] = r
    loss = (y * r.double()).sum()
    out["loss"] = torch.tensor([loss.item()], dtype=torch.float32)
    loss.backward()
    out["grad_x"] = f32(xg.grad)
    for k, p in params.items():
        out["grad." + k] = sample(f32(p.grad))
    opt.step()
    for k, p in params.items():
        out["step1." + k] = sample(f32(p))

    x2 = torch.randn(x_shape, generator=g)
    out["x2"] = x2
    model.zero_grad()
    y2 = model(x2.double())
    r2 = torch.randn(y2.shape, generator=g)
    out["r2"] = r2
    (y2 * r2.double()).sum().backward()
    opt.step()
    for k, p in params.items():
        out["step2." + k] = sample(f32(p))
    out.update(bn_stats(model, "stats2."))
    return out


SGD_VARIANTS = {"sgd_wd": dict(momentum=0.9, weight_decay=0.05),
                "sgd_nesterov": dict(momentum=0.9, weight_decay=0.05, nesterov=True),
                "sgd_dampening": dict(momentum=0.9, weight_decay=0.05, dampening=0.5)}


def sgd_variants(out):
    """The optimiser alone, on exactly known inputs: parameters sd.<k>, gradients grad.<k> (as stored,
    complete), two torch.optim.SGD(lr=LR, **variant) steps with the same gradient -> <variant>.<k>. A large
    weight decay (0.05) makes its order (before momentum) visible, which 5e-4 in step1/step2 is not."""
    res = {}
    for name, kw in SGD_VARIANTS.items():
        keys = [k[5:] for k in out if k.startswith("grad.")]
        ps = [out["sd." + k].double().clone().requires_grad_() for k in keys]
        for p, k in zip(ps, keys):
            assert out["grad." + k].numel() == p.numel(), "sgd_variants needs complete gradients"
            p.grad = out["grad." + k].double().reshape(p.shape).clone()
        opt = torch.optim.SGD(ps, lr=LR, **kw)
        opt.step()
        opt.step()
        for p, k in zip(ps, keys):
            res["%s.%s" % (name, k)] = f32(p)
    return res


FILES = (("nn_resnet18_cifar_w8", "resnet18_cifar_w8", (4, 3, 16, 16), 18, True),
         ("nn_bottleneck", "bottleneck", (4, 16, 8, 8), 7, True),
         ("nn_resnet50_w2", "resnet50_w2", (2, 3, 48, 48), 50, False))


def generate(outdir):
    os.makedirs(outdir, exist_ok=True)
    for fname, arch, x_shape, seed, train_steps in FILES:
        torch.manual_seed(seed)
        model = ARCHS[arch]()
        meta = {"generator": "tools/make_nn_fixtures.py", "torch": torch.__version__,
                "torchvision": torchvision.__version__, "arch": arch, "sample": str(SAMPLE), "lr": repr(LR),
                "momentum": repr(MOMENTUM), "weight_decay": repr(WEIGHT_DECAY)}
        tensors = fixture(model, x_shape, seed, train_steps)
        if arch == "bottleneck":
            tensors.update(sgd_variants(tensors))
            meta["sgd_variants"] = json.dumps(SGD_VARIANTS, sort_keys=True)
        write_safetensors(os.path.join(outdir, fname + ".safetensors"), tensors, meta)


def check(path, arch):
    tensors, meta = read_safetensors(path)
    if arch is None:
        w = tensors.get("conv1.weight")
        shape = tuple(w.shape) if w is not None else None
        arch = {(8, 3, 3, 3): "resnet18_cifar_w8", (2, 3, 7, 7): "resnet50_w2", (8, 16, 1, 1): "bottleneck"}.get(shape)
        if arch is None:
            sys.exit("check: cannot guess the architecture from conv1.weight %s; pass --arch" % (shape,))
    model = ARCHS[arch]()
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:  # missing/unexpected keys or shape mismatches, all listed
        sys.exit("check: FAILED: %s does not load into torchvision %s:\n%s" % (path, arch, e))
    nbt = [k for k in tensors if k.endswith("num_batches_tracked")]
    bad = [k for k in nbt if tensors[k].dtype != torch.int64 or tensors[k].dim() != 0]
    if bad:
        sys.exit("check: num_batches_tracked not an int64 scalar: %s" % ", ".join(bad))
    print("check: %s loaded into torchvision %s with load_state_dict(strict=True): %d tensors OK"
          % (path, arch, len(tensors)))
    for fname, a, x_shape, *_ in FILES:
        if a != arch:
            continue
        model.eval()
        with torch.no_grad():
            y = model(torch.randn(x_shape))
        print("check: eval forward of a %s input: output %s, finite: %s"
              % ("x".join(map(str, x_shape)), "x".join(map(str, y.shape)), bool(torch.isfinite(y).all())))
        fpath = os.path.join("tests", "fixtures", fname + ".safetensors")
        if os.path.exists(fpath):
            fix, _ = read_safetensors(fpath)
            diff, key = max(((tensors[k].double() - fix["sd." + k].double()).abs().max().item()
                             if tensors[k].numel() else 0.0, k) for k in tensors)
            print("check: %s the fixture's initial weights (%s)%s" % (
                "identical to" if diff == 0 else "differs from", fpath,
                "" if diff == 0 else ": largest |difference| %g in %s" % (diff, key)))


def main():
    args = sys.argv[1:]
    if args and args[0] == "--check":
        if len(args) < 2:
            sys.exit("usage: make_nn_fixtures.py --check FILE [--arch %s]" % "|".join(ARCHS))
        arch = None
        if len(args) >= 4 and args[2] == "--arch":
            arch = args[3]
            if arch not in ARCHS:
                sys.exit("check: unknown arch %s (known: %s)" % (arch, ", ".join(ARCHS)))
        check(args[1], arch)
        return
    generate(args[0] if args else os.path.join("tests", "fixtures"))


if __name__ == "__main__":
    main()

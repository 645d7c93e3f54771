"""bench_train.py BUILD_DIR THREADS - training steps in sslab and in PyTorch, same run.

Cases (each side runs in its own process, so its peak resident memory is its own):
  r50   resnet50 (imagenet stem), 224x224x3, batch 32: forward, backward, SGD
  r18   resnet18 (cifar stem, width 16), 28x28x1, batch 256: forward, backward, SGD
  moco  one MoCo v2 step at the small preset: query forward+backward, key forward,
        InfoNCE against a 4096-key queue, SGD, EMA update, enqueue
Prints images/s of each, the ratio sslab / PyTorch, peak RSS, and the C heap blocks
sslab allocates per step after the warm-up (sslab.allocations(); 0 = none). Both use THREADS
threads (torch.set_num_threads). Median of STEPS timed steps after one warm-up; the two
sides alternate for ROUNDS rounds (SSLAB_BENCH_ROUNDS, default 5): the median round of each
side is shown, and the median and range of the per-round ratios (adjacent runs, so slow
drift of the machine cancels).
"""
import os
import subprocess
import sys

STEPS = {'r50': 3, 'r18': 5, 'moco': 5}
ROUNDS = {'r50': 1, 'r18': int(os.environ.get('SSLAB_BENCH_ROUNDS', 5)),
          'moco': int(os.environ.get('SSLAB_BENCH_ROUNDS', 5))}


def torch_worker(case, threads, steps):
    import resource
    import time
    import torch
    import torch.nn as tnn
    import torch.nn.functional as F
    import torchvision

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    def cifar_r18(num_classes):
        # torchvision's ResNet-18 blocks at width 16 with the CIFAR stem (3x3/1 conv, no max-pool)
        from torchvision.models.resnet import ResNet, BasicBlock

        class Narrow(ResNet):
            def __init__(self):
                tnn.Module.__init__(self)
                self._norm_layer = tnn.BatchNorm2d
                self.inplanes, self.dilation, self.groups, self.base_width = 16, 1, 1, 64
                self.conv1 = tnn.Conv2d(1, 16, 3, 1, 1, bias=False)
                self.bn1 = tnn.BatchNorm2d(16)
                self.relu = tnn.ReLU(inplace=True)
                self.maxpool = tnn.Identity()
                self.layer1 = self._make_layer(BasicBlock, 16, 2)
                self.layer2 = self._make_layer(BasicBlock, 32, 2, stride=2)
                self.layer3 = self._make_layer(BasicBlock, 64, 2, stride=2)
                self.layer4 = self._make_layer(BasicBlock, 128, 2, stride=2)
                self.avgpool = tnn.AdaptiveAvgPool2d(1)
                self.fc = tnn.Linear(128, num_classes) if num_classes else tnn.Identity()
        return Narrow()

    if case in ('r50', 'r18'):
        if case == 'r50':
            batch, model = 32, torchvision.models.resnet50()
            x, y = torch.randn(batch, 3, 224, 224), torch.randint(0, 1000, (batch,))
        else:
            batch, model = 256, cifar_r18(10)
            x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

        def step():
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
    else:
        batch = 256

        def net():
            return tnn.Sequential(cifar_r18(None), tnn.Linear(128, 128), tnn.ReLU(), tnn.Linear(128, 128))
        q_net, k_net = net(), net()
        k_net.load_state_dict(q_net.state_dict())
        for p in k_net.parameters():
            p.requires_grad = False
        queue = F.normalize(torch.randn(4096, 128), dim=1)
        ptr = [0]
        opt = torch.optim.SGD(q_net.parameters(), lr=0.06, momentum=0.9, weight_decay=5e-4)
        x1, x2 = torch.randn(batch, 1, 28, 28), torch.randn(batch, 1, 28, 28)

        def step():  # moco/builder.py, one process
            opt.zero_grad()
            q = F.normalize(q_net(x1), dim=1)
            with torch.no_grad():
                k = F.normalize(k_net(x2), dim=1)
            logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], 1) / 0.2
            F.cross_entropy(logits, torch.zeros(batch, dtype=torch.long)).backward()
            opt.step()
            with torch.no_grad():
                for pk, pq in zip(k_net.parameters(), q_net.parameters()):
                    pk.mul_(0.99).add_(pq, alpha=0.01)
                i = ptr[0]
                queue[i:i + batch] = k
                ptr[0] = (i + batch) % 4096
    step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    print('images_per_s %.2f' % (batch / times[(steps - 1) // 2]))
    print('peak_rss_kb %d' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def parse(out):
    return {k: float(v) for k, v in (line.split() for line in out.splitlines() if line.strip())}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--torch-worker':
        torch_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    build = sys.argv[1] if len(sys.argv) > 1 else 'build'
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
    cases = sys.argv[3].split(',') if len(sys.argv) > 3 else ['r18', 'moco', 'r50']
    here = os.path.dirname(os.path.abspath(__file__))
    print('training steps, %d thread(s); images/s (median), peak RSS' % threads)
    print('%-6s %12s %12s %8s %12s %12s %12s %14s' % ('case', 'sslab', 'pytorch', 'ratio', 'ratio range',
                                                    'sslab MB', 'pytorch MB', 'sslab allocs'))
    for case in cases:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        # This machine's speed drifts by +-20% over minutes (shared host): the two sides
        # alternate for ROUNDS rounds.
        def run(cmd):
            return parse(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
        runs = {'s': [], 't': []}
        for _ in range(ROUNDS[case]):
            runs['s'].append(run([os.path.join(build, 'sslab'), os.path.join(here, 'bench_train.lua'), case,
                                  str(threads), str(STEPS[case])]))
            runs['t'].append(run([sys.executable, os.path.abspath(__file__), '--torch-worker', case, str(threads),
                                  str(STEPS[case])]))
        s, t = (sorted(runs[k], key=lambda r: r['images_per_s'])[len(runs[k]) // 2] for k in 'st')
        # the ratio of each round's adjacent pair, so that slow drift cancels; median and range
        ratios = sorted(a['images_per_s'] / b['images_per_s'] for a, b in zip(runs['s'], runs['t']))
        print('%-6s %12.1f %12.1f %8.2f %12s %12.0f %12.0f %14.1f' % (
            case, s['images_per_s'], t['images_per_s'], ratios[len(ratios) // 2],
            '%.2f-%.2f' % (ratios[0], ratios[-1]), s['peak_rss_kb'] / 1024, t['peak_rss_kb'] / 1024,
            s['allocations_per_step']))
        sys.stdout.flush()

if __name__ == '__main__':
    main()

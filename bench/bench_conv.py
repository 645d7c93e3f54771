#!/usr/bin/python3
"""bench_conv.py - PyTorch's conv2d on the shapes of bench_conv.c, same columns.

    /usr/bin/python3 bench/bench_conv.py [threads] [reps] [resnet50-batch] [cifar-batch] [filter]

Prints GFLOP/s for forward, backward-data and backward-weight (2 * O * C*KH*KW *
N*OH*OW flop each). With 1 thread it times process CPU time, like bench_conv.
Needs Debian's python3-torch (run with /usr/bin/python3, see machine-notes).
"""
import sys
import time

try:
    import torch
except ImportError:
    sys.exit("bench_conv.py: needs PyTorch (apt-get install python3-torch; run with /usr/bin/python3)")

SHAPES = [  # name, C, H, W, O, K, stride, pad, suite
    ("r50.stem 7x7/2 3-64 @224", 3, 224, 224, 64, 7, 2, 3, 0),
    ("r50.l1 1x1 64-64 @56", 64, 56, 56, 64, 1, 1, 0, 0),
    ("r50.l1 3x3 64-64 @56", 64, 56, 56, 64, 3, 1, 1, 0),
    ("r50.l1 1x1 64-256 @56", 64, 56, 56, 256, 1, 1, 0, 0),
    ("r50.l1 1x1 256-64 @56", 256, 56, 56, 64, 1, 1, 0, 0),
    ("r50.l2 3x3/2 128-128 @56", 128, 56, 56, 128, 3, 2, 1, 0),
    ("r50.l2 3x3 128-128 @28", 128, 28, 28, 128, 3, 1, 1, 0),
    ("r50.l2 1x1 512-128 @28", 512, 28, 28, 128, 1, 1, 0, 0),
    ("r50.l2 ds 1x1/2 256-512 @56", 256, 56, 56, 512, 1, 2, 0, 0),
    ("r50.l3 3x3 256-256 @14", 256, 14, 14, 256, 3, 1, 1, 0),
    ("r50.l3 1x1 256-1024 @14", 256, 14, 14, 1024, 1, 1, 0, 0),
    ("r50.l4 3x3 512-512 @7", 512, 7, 7, 512, 3, 1, 1, 0),
    ("r50.l4 1x1 2048-512 @7", 2048, 7, 7, 512, 1, 1, 0, 0),
    ("c18.stem 3x3 3-16 @28", 3, 28, 28, 16, 3, 1, 1, 1),
    ("c18.l1 3x3 16-16 @28", 16, 28, 28, 16, 3, 1, 1, 1),
    ("c18.l2 3x3/2 16-32 @28", 16, 28, 28, 32, 3, 2, 1, 1),
    ("c18.l2 3x3 32-32 @14", 32, 14, 14, 32, 3, 1, 1, 1),
    ("c18.l2 ds 1x1/2 16-32 @28", 16, 28, 28, 32, 1, 2, 0, 1),
    ("c18.l3 3x3/2 32-64 @14", 32, 14, 14, 64, 3, 2, 1, 1),
    ("c18.l3 3x3 64-64 @7", 64, 7, 7, 64, 3, 1, 1, 1),
    ("c18.l3 ds 1x1/2 32-64 @14", 32, 14, 14, 64, 1, 2, 0, 1),
    ("c18.l4 3x3/2 64-128 @7", 64, 7, 7, 128, 3, 2, 1, 1),
    ("c18.l4 ds 1x1/2 64-128 @7", 64, 7, 7, 128, 1, 2, 0, 1),
    ("c18.l4 3x3 128-128 @4", 128, 4, 4, 128, 3, 1, 1, 1),
]


def median_time(fn, reps, clock):
    fn()
    ts = []
    for _ in range(reps):
        t0 = clock()
        fn()
        ts.append(clock() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    batch = [int(sys.argv[3]) if len(sys.argv) > 3 else 8, int(sys.argv[4]) if len(sys.argv) > 4 else 256]
    filt = sys.argv[5] if len(sys.argv) > 5 else None
    torch.set_num_threads(threads)
    clock = time.process_time if threads == 1 else time.perf_counter
    print(f"PyTorch {torch.__version__}, threads {threads} ({'CPU' if threads == 1 else 'wall'} time), "
          f"median of {reps}, ResNet-50 batch {batch[0]}, CIFAR ResNet-18 w16 batch {batch[1]}")
    print(f"{'shape':<30} {'GFLOP':>9} {'fwd':>7} {'bwdD':>7} {'bwdW':>7}  (GFLOP/s)")
    conv_bwd = torch.ops.aten.convolution_backward
    for name, C, H, W, O, K, s, p, suite in SHAPES:
        if filt and filt not in name:
            continue
        N = batch[suite]
        x = torch.randn(N, C, H, W)
        w = torch.randn(O, C, K, K)
        b = torch.randn(O)
        with torch.no_grad():
            y = torch.nn.functional.conv2d(x, w, b, s, p)
            dy = torch.randn_like(y)
            fwd = lambda: torch.nn.functional.conv2d(x, w, b, s, p)
            bwd_d = lambda: conv_bwd(dy, x, w, [O], [s, s], [p, p], [1, 1], False, [0, 0], 1, [True, False, False])
            bwd_w = lambda: conv_bwd(dy, x, w, [O], [s, s], [p, p], [1, 1], False, [0, 0], 1, [False, True, True])
            flop = 2.0 * O * C * K * K * N * y.shape[2] * y.shape[3]
            tf, td, tw = (median_time(f, reps, clock) for f in (fwd, bwd_d, bwd_w))
        print(f"{name:<30} {flop * 1e-9:9.2f} {flop / tf * 1e-9:7.1f} {flop / td * 1e-9:7.1f} {flop / tw * 1e-9:7.1f}",
              flush=True)


if __name__ == "__main__":
    main()

"""bench_pipeline.py BUILD_DIR THREADS - images/s of the MoCo v2 two-view pipeline.

Compares sslab's data.loader (C worker threads: decode + augment) with torchvision
transforms in a torch DataLoader on the same images and the same thread count:
  32 x 32:   in-memory uint8 images (CIFAR-like: the loader only augments);
  224 x 224: JPEG files (288 x 352) in an image folder (decode + augment).
Both sides make two views per image (crop 0.2-1, jitter p .8, grayscale .2, blur p .5,
flip, normalise). The torch side is MoCo's own aug+ (moco/main_moco.py): torchvision
transforms on PIL images with PIL's Gaussian blur (moco/loader.py); torchvision 0.14's
GaussianBlur on PIL images takes ~120 ms per 224 image here and would dominate. Then it checks whether the loader keeps a training step fed: the
samples/s of a ResNet-18 (CIFAR stem) step (forward + backward of one view, forward of
the other) at 32 x 32 in sslab, against the loader's samples/s.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

N32, N224, SECONDS = 4096, 256, 3.0


def sslab_run(build, *args):
    out = subprocess.run([os.path.join(build, 'sslab'), os.path.join(os.path.dirname(__file__), 'bench_pipeline.lua')]
                         + [str(a) for a in args], check=True, capture_output=True, text=True).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines() if line.strip())}


def torch_side(tmp, threads):
    import numpy as np
    import torch
    from PIL import Image, ImageFilter
    from torchvision import datasets, transforms

    torch.set_num_threads(threads)

    class PILBlur:  # moco/loader.py GaussianBlur: PIL's filter, sigma uniform in [0.1, 2]
        def __call__(self, x):
            return x.filter(ImageFilter.GaussianBlur(radius=random.uniform(0.1, 2.0)))

    def mocov2(size):
        return transforms.Compose([
            transforms.RandomResizedCrop(size, scale=(0.2, 1.0)),
            transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            transforms.RandomGrayscale(p=0.2),
            transforms.RandomApply([PILBlur()], p=0.5),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ])

    class TwoCrops:
        def __init__(self, t):
            self.t = t

        def __call__(self, x):
            return [self.t(x), self.t(x)]

    class U8(torch.utils.data.Dataset):  # CIFAR10-style: numpy HWC -> PIL per sample
        def __init__(self, arr, t):
            self.arr, self.t = arr, t

        def __len__(self):
            return len(self.arr)

        def __getitem__(self, i):
            return self.t(Image.fromarray(self.arr[i])), 0

    raw = np.fromfile(os.path.join(tmp, 'u8_32.bin'), dtype=np.uint8).reshape(-1, 3, 32, 32)
    ds32 = U8(np.ascontiguousarray(raw.transpose(0, 2, 3, 1)), TwoCrops(mocov2(32)))
    dsj = datasets.ImageFolder(os.path.join(tmp, 'jpeg'), TwoCrops(mocov2(224)))

    def rate(ds, batch):
        dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True, num_workers=threads,
                                         persistent_workers=True)
        for _ in dl:  # warm-up epoch (starts the worker processes)
            break
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < SECONDS:
            for (v1, v2), _ in dl:
                n += v1.shape[0]
        return n / (time.perf_counter() - t0)

    return {'torch_32': rate(ds32, 256), 'torch_224': rate(dsj, 32)}


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else 'build'
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count()
    tmp = tempfile.mkdtemp(prefix='sslab_bench_pipeline_')
    try:
        sslab_run(build, 'prepare', tmp, N32, N224)
        s = sslab_run(build, 'loader', tmp, threads, threads, SECONDS)
        t = torch_side(tmp, threads)
        print(f'MoCo v2 two-view pipeline, {threads} threads (sslab: loader workers; torch: DataLoader workers)')
        print(f'{"":28s}{"sslab img/s":>14s}{"torchvision img/s":>20s}{"ratio":>8s}')
        for key, label in (('32', '32x32 in memory'), ('224', '224x224 from JPEG (decode)')):
            a, b = s['sslab_' + key], t['torch_' + key]
            print(f'{label:28s}{a:14.1f}{b:20.1f}{a / b:8.2f}')
        tr = sslab_run(build, 'train', threads)['train_32']
        fed = 'yes' if s['sslab_32'] > tr else 'NO'
        print(f'training step (ResNet-18 CIFAR stem, 32x32, fwd+bwd view 1 + fwd view 2): {tr:.1f} samples/s; '
              f'loader {s["sslab_32"]:.1f} samples/s with {threads} workers: keeps it fed: {fed} '
              f'({s["sslab_32"] / tr:.0f}x)')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""PyTorch/CUDA peer for the GPU measurements of the OpenCL issue (run on the H100 machine,
beside nodal's OpenCL benchmarks, in the same command).

  torch_cuda.py conv    the convolution issue's six layers and the LeNet-5 layers: forward and
                        forward+backward (x, weight, bias) ms, cudnn.benchmark on, float32
  torch_cuda.py train   LeNet-5 training steps (SGD momentum, cross-entropy) at batch 64 and 1024:
                        eager, and the whole step captured as one CUDA graph
  torch_cuda.py fft     batched 1-D C2C complex64 FFTs (cuFFT), N = 256 ... 2^22 with batch*N = 2^26,
                        plus N = 1009, 4099, 65537; bandwidth as 2*8*N*batch bytes / time, and as a
                        share of a device-to-device copy of the same bytes

Times are the median of CUDA-event-timed repetitions after warm-up. Prints markdown tables.
Not a test and never a dependency: the GPU machine has PyTorch, the CI machine does not.
"""
import statistics
import sys

import torch
import torch.nn.functional as F

CONV_LAYERS = [  # n, cin, cout, h, k, pad; the LeNet-5 layers first, the 1024² k31 layer last
    (64, 1, 6, 28, 5, 2), (64, 6, 16, 14, 5, 0), (1024, 1, 6, 28, 5, 2), (1024, 6, 16, 14, 5, 0),
    (64, 1, 32, 28, 5, 2), (64, 32, 64, 14, 5, 2), (32, 16, 16, 64, 3, 1),
    (8, 16, 16, 64, 11, 5), (4, 8, 8, 256, 15, 7), (1, 1, 1, 1024, 31, 15),
]


def timed(fn, reps=50, warm=10):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def conv():
    print("| layer | torch fwd ms | torch f+b ms |\n|---|---:|---:|")
    for n, cin, cout, h, k, pad in CONV_LAYERS:
        # cudnn.benchmark's algorithm search took minutes on the 1024² k31 layer: cuDNN's
        # heuristic choice there, the search everywhere else
        torch.backends.cudnn.benchmark = k < 31
        x = torch.randn(n, cin, h, h, device="cuda", requires_grad=True)
        w = torch.randn(cout, cin, k, k, device="cuda", requires_grad=True)
        b = torch.randn(cout, device="cuda", requires_grad=True)
        with torch.no_grad():
            fwd = timed(lambda: F.conv2d(x, w, b, padding=pad))
        g = torch.randn_like(F.conv2d(x, w, b, padding=pad))

        def step():
            y = F.conv2d(x, w, b, padding=pad)
            torch.autograd.grad(y, (x, w, b), g)
        fb = timed(step)
        print(f"| {n}x{cin}->{cout} {h}x{h} k{k} p{pad} | {fwd:.4f} | {fb:.4f} |")


class LeNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(400, 120), torch.nn.Linear(120, 84), torch.nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def train():
    torch.backends.cudnn.benchmark = True
    print("| batch | eager ms/step | CUDA graph ms/step | eager img/s | graph img/s |\n|---:|---:|---:|---:|---:|")
    for batch in (64, 1024):
        torch.manual_seed(0)
        net = LeNet().cuda()
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(batch, 1, 28, 28, device="cuda")
        y = torch.randint(0, 10, (batch,), device="cuda")

        def step():
            opt.zero_grad(set_to_none=False)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss
        eager = timed(step, reps=200, warm=20)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(5):
                step()
        torch.cuda.current_stream().wait_stream(s)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        graphed = timed(graph.replay, reps=200, warm=20)
        print(f"| {batch} | {eager:.3f} | {graphed:.3f} | {batch / eager * 1e3:.0f} | {batch / graphed * 1e3:.0f} |")


def fft():
    total = 1 << 26
    sizes = [1 << e for e in range(8, 23)] + [1009, 4099, 65537]
    print("| N | batch | cuFFT ms | cuFFT GB/s | copy GB/s | share of copy |\n|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        batch = max(1, total // n)
        x = torch.randn(batch, n, dtype=torch.complex64, device="cuda")
        out = torch.empty_like(x)
        t = timed(lambda: torch.fft.fft(x, dim=-1), reps=20, warm=3)
        c = timed(lambda: out.copy_(x), reps=20, warm=3)
        moved = 2 * 8 * n * batch
        print(f"| {n} | {batch} | {t:.3f} | {moved / t / 1e6:.0f} | {moved / c / 1e6:.0f} | {c / t:.2f} |")


if __name__ == "__main__":
    what = sys.argv[1:] or ["conv", "train", "fft"]
    print(f"# PyTorch {torch.__version__}, {torch.cuda.get_device_name(0)}\n")
    for w in what:
        print(f"## {w}\n")
        {"conv": conv, "train": train, "fft": fft}[w]()
        print()

#!/usr/bin/env bash
# The GPU measurements of the OpenCL and training issues, in one command on the H100 machine
# (the `device` tool's machine: Ubuntu, CUDA, PyTorch, PoCL, the NVIDIA OpenCL driver unregistered):
#   bash bench/gpu-run.sh [SECTIONS...]   sections: build tests fft conv train peer (default: all)
# Results go to $OUT (or ./gpu-out). Debian 12's Boost 1.74 packages may be carried in .debs/
# (that machine has no Boost.Graph); they are unpacked under /opt/deb, never into /.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-out}"
mkdir -p "$out" /etc/OpenCL/vendors
echo /usr/lib/libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd
sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(build tests fft conv train peer)
want() { [[ " ${sections[*]} " == *" $1 "* ]]; }

boost=()
if ls .debs/*.deb >/dev/null 2>&1; then
  mkdir -p /opt/deb && for f in .debs/*.deb; do dpkg -x "$f" /opt/deb; done
  boost=(-DBoost_DIR=/opt/deb/usr/lib/x86_64-linux-gnu/cmake/Boost-1.74.0)
  export LD_LIBRARY_PATH=/opt/deb/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
export NODAL_KERNEL_CACHE=/tmp/nodal-kernels
# Fashion-MNIST for bench/train and the trainer, carried in .data/ when the machine lacks it
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -d .data/fashion-mnist ]; then
  mkdir -p /usr/share/datasets && cp -r .data/fashion-mnist /usr/share/datasets/
fi
b=build/gpu

if want build; then
  { clinfo -l; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; } 2>&1 | tee "$out/devices.txt"
  cmake -S . -B $b -G Ninja -DCMAKE_BUILD_TYPE=Release -DNODAL_BUILD_TESTS=ON -DNODAL_BUILD_BENCH=ON \
    -DNODAL_BUILD_EXAMPLES=ON "${boost[@]}" > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
  cmake --build $b -j16 > "$out/build.log" 2>&1 || { grep -B2 -A8 "error" "$out/build.log" | head -60; exit 1; }
  echo "build ok"
fi
if want tests; then
  # every OpenCL test against the NVIDIA device (PoCL stays the second platform)
  (cd $b && NODAL_FFT_FULL_TESTS=1 NODAL_DEVICE=opencl:nvidia timeout 300 ctest -R opencl --output-on-failure -j4) 2>&1 | tee "$out/tests.txt" | tail -25
fi
if want fft; then
  NODAL_DEVICE=opencl:nvidia timeout 240 $b/bench/fft --opencl --markdown 2>&1 | tee "$out/fft.md" | tail -45
fi
if want conv; then
  NODAL_DEVICE=opencl:nvidia timeout 200 $b/bench/conv_opencl --markdown 2>&1 | tee "$out/conv.md"
fi
if want train; then
  NODAL_DEVICE=opencl:nvidia timeout 200 $b/bench/train --steps 200 --markdown 2>&1 | tee "$out/train.md"
  NODAL_DEVICE=opencl:nvidia timeout 120 $b/tools/nodal train --backend opencl --epochs 1 --out /tmp/run-opencl 2>&1 \
    | tr '\r' '\n' | grep -v "^ *$" | tail -4 | tee "$out/train-run.txt"
fi
if want peer; then
  for part in train conv fft; do
    PYTHONUNBUFFERED=1 timeout 200 python3 bench/peers/torch_cuda.py $part 2>&1 | tee "$out/torch-$part.md"
  done
fi

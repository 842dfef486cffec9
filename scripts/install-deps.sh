#!/usr/bin/env bash
# Installs the Debian 12 packages nodal needs, and only those that are missing (idempotent:
# a second run installs nothing and does not touch the network). Run as root, or with sudo
# available for a normal user. `install-deps.sh --check` only lists what is missing (exit 1 if any).
set -euo pipefail

packages=(
  # build
  cmake g++ ninja-build pkg-config
  # libraries
  libeigen3-dev libboost-graph-dev libfmt-dev zlib1g-dev
  # tests
  doctest-dev
  # the OpenCL backend: headers, the ICD loader, a CPU implementation (PoCL) and clinfo
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  # the Fashion-MNIST trainer's data set
  dataset-fashion-mnist
)

# A machine whose packages are managed by hand can skip the check (NODAL_SKIP_DEPS=1).
if [[ "${NODAL_SKIP_DEPS:-0}" == 1 && "${1:-}" != --check ]]; then
  echo "install-deps: skipped (NODAL_SKIP_DEPS=1)"
  exit 0
fi

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} Debian packages are present"
  exit 0
fi

if [[ "${1:-}" == --check ]]; then
  echo "install-deps: missing ${missing[*]}"
  exit 1
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: missing ${missing[*]}; run as root" >&2; exit 1; }
  as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

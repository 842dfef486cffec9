#!/usr/bin/env bash
# Builds and runs the consumer program (consumer.cpp) against nodal three ways:
#   install         cmake --install <build-dir> into <scratch-dir>/prefix
#   find_package    a CMake project doing find_package(nodal CONFIG REQUIRED) on that prefix
#   pkg-config      g++ consumer.cpp $(pkg-config --cflags --libs nodal) on that prefix
#   add_subdirectory  a CMake project doing add_subdirectory(<nodal source>) (compiles nodal again)
# Usage: run.sh <build-dir> <scratch-dir> [all|install|find_package|pkg-config|add_subdirectory]
# The compiler, launcher (ccache), generator and build type are taken from <build-dir>'s cache,
# so the consumers are built like the library they test.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 <build-dir> <scratch-dir> [all|install|find_package|pkg-config|add_subdirectory]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
mkdir -p "$2"
scratch=$(cd "$2" && pwd)
step=${3:-all}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=$(cd "$here/../.." && pwd)
prefix="$scratch/prefix"

cache_value() {  # cache_value NAME: the value of NAME in the build directory's CMakeCache.txt
  sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt" | head -n 1
}
cxx=$(cache_value CMAKE_CXX_COMPILER)
launcher=$(cache_value CMAKE_CXX_COMPILER_LAUNCHER)
generator=$(cache_value CMAKE_GENERATOR)
build_type=$(cache_value CMAKE_BUILD_TYPE)
sanitize=$(cache_value NODAL_SANITIZE)
jobs=${NODAL_CONSUMER_JOBS:-2}

cmake_consumer() {  # cmake_consumer <source> <binary> [extra cmake args...]: configure, build
  local source=$1 binary=$2
  shift 2
  cmake -S "$source" -B "$binary" -G "${generator:-Ninja}" \
    -DCMAKE_CXX_COMPILER="$cxx" ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher"} \
    -DCMAKE_BUILD_TYPE="${build_type:-Release}" "$@" >"$binary.configure.log" 2>&1 ||
    { cat "$binary.configure.log"; return 1; }
  cmake --build "$binary" -j "$jobs"
}

do_install() {
  echo "== install into $prefix"
  rm -rf "$prefix"
  cmake --install "$build_dir" --prefix "$prefix" >"$scratch/install.log" || { cat "$scratch/install.log"; return 1; }
  # What a user relies on: the umbrella header, the library, both package descriptions.
  for f in include/nodal/nodal.hpp include/nodal/core/graph.hpp lib/cmake/nodal/nodalConfig.cmake \
           lib/cmake/nodal/nodalConfigVersion.cmake lib/cmake/nodal/nodalTargets.cmake lib/pkgconfig/nodal.pc; do
    [[ -e "$prefix/$f" ]] || { echo "missing after install: $f"; return 1; }
  done
  ls "$prefix"/lib/libnodal.so* >/dev/null
  if find "$prefix/include" -name '*.cl' | grep -q .; then echo "kernel sources were installed"; return 1; fi
}

do_find_package() {
  echo "== find_package(nodal CONFIG REQUIRED) with CMAKE_PREFIX_PATH=$prefix"
  rm -rf "$scratch/find_package"
  cmake_consumer "$here/find_package" "$scratch/find_package" -DCMAKE_PREFIX_PATH="$prefix"
  "$scratch/find_package/consumer"
}

do_pkg_config() {
  echo "== pkg-config nodal with PKG_CONFIG_PATH=$prefix/lib/pkgconfig"
  mkdir -p "$scratch/pkg-config"
  local flags
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs nodal)
  echo "pkg-config --cflags --libs nodal: $flags"
  local sanitizer_flags=()
  [[ "$sanitize" == ON ]] && sanitizer_flags=(-fsanitize=address,undefined)
  # shellcheck disable=SC2086  # the flags are a word list by design
  ${launcher:+"$launcher"} "$cxx" -O2 "${sanitizer_flags[@]}" "$here/consumer.cpp" -o "$scratch/pkg-config/consumer" $flags
  # No LD_LIBRARY_PATH: the .pc file's rpath must be enough to find libnodal.so.
  "$scratch/pkg-config/consumer"
}

do_add_subdirectory() {
  echo "== add_subdirectory($source_root)"
  rm -rf "$scratch/add_subdirectory"
  # This step tests that the source tree builds as a subproject, not its speed: compile it without
  # optimization (-O0, no -march=native), which takes a third of the time of the optimized build,
  # and without the OpenCL backend: the one build of the configuration -DNODAL_OPENCL=OFF. A unity
  # build (CMAKE_UNITY_BUILD, the sources compiled in batches of 8) parses the heavy headers (Eigen,
  # Boost.Graph, fmt) once per batch: on two cores 62 s against 214 s file by file, which was the
  # longest test of the release pass. Every file still compiles on its own in the library's own
  # build; here the sources must also keep unique names in their anonymous namespaces.
  cmake_consumer "$here/subdirectory" "$scratch/add_subdirectory" -DNODAL_SOURCE_DIR="$source_root" \
    -DNODAL_SANITIZE="${sanitize:-OFF}" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DNODAL_NATIVE=OFF \
    -DNODAL_OPENCL=OFF -DCMAKE_UNITY_BUILD=ON
  "$scratch/add_subdirectory/consumer"
}

case "$step" in
  all) do_install && do_find_package && do_pkg_config && do_add_subdirectory ;;
  install) do_install ;;
  find_package) do_find_package ;;
  pkg-config) do_pkg_config ;;
  add_subdirectory) do_add_subdirectory ;;
  *) echo "unknown step: $step" >&2; exit 2 ;;
esac

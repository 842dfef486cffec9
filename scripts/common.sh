# Shared by run-main.sh and test.sh (sourced, not run).
# NODAL_BUILD_ROOT (default <repo>/build) holds one folder per preset: build/release, build/asan.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
build_root=${NODAL_BUILD_ROOT:-$repo_root/build}
jobs=${NODAL_JOBS:-2}  # CI machines and the shared development machine have two cores

# configure_preset <preset> [cmake args...]: configures <build_root>/<preset> from CMakePresets.json,
# compiling through ccache when it is installed (it is not required).
configure_preset() {
  local preset=$1
  shift
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake --preset "$preset" -B "$build_root/$preset" "${launcher[@]}" "$@"
}

build_preset() {  # build_preset <preset> [targets...]
  local preset=$1
  shift
  local targets=()
  [[ $# -gt 0 ]] && targets=(--target "$@")
  cmake --build "$build_root/$preset" -j "$jobs" "${targets[@]}"
}

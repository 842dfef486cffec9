#!/usr/bin/env bash
# README command 1: installs the missing Debian packages, configures and builds the release
# preset, and runs the main job. Idempotent: a second run rebuilds nothing and runs the job again.
#
# The main job is the Fashion-MNIST trainer once it exists; until then the best example there is
# (NODAL_MAIN=<example name> picks another). Arguments are passed to the program.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash scripts/install-deps.sh

main=${NODAL_MAIN:-}
if [[ -z "$main" ]]; then
  for candidate in train_fashion_mnist fashion_mnist train_mlp; do
    [[ -f "examples/$candidate.cpp" ]] && { main=$candidate; break; }
  done
fi
if [[ -z "$main" ]]; then
  first=$(find examples -maxdepth 1 -name '*.cpp' | sort | head -n 1)
  [[ -n "$first" ]] && main=$(basename "$first" .cpp)
fi
if [[ -z "$main" ]]; then
  echo "run-main: no example in examples/ yet" >&2
  exit 1
fi

configure_preset release
build_preset release "example_$main"
echo "run-main: $build_root/release/examples/$main $*"
exec "$build_root/release/examples/$main" "$@"

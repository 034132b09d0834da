#!/usr/bin/env bash
# Runs the benchmarks: each prints its figures as ratios against a peer run in the same run on
# the same data (skopeo copy, a plain SDK upload, a plan's own storage reads, SHA-256 alone and
# casync make for chunking, the layer-level delta for chunk deltas).
# Usage: scripts/bench.sh [registry|import|plan|fanout|limits|agent|chunking|deltas [--option...]]...
# import: --cold or --warm for one mode only (both by default), --split, --log.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
dotnet build tests/Pipeline.Benchmarks/Pipeline.Benchmarks.csproj -c Release --no-restore -nologo -v quiet -clp:ErrorsOnly
# The LocalHost a user runs: compiled ahead of time (see scripts/lib.sh), unless
# PIPELINE_LOCALHOST_DLL names another (e.g. the plain build, to compare).
root=$PWD
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
PIPELINE_LOCALHOST_DLL=${PIPELINE_LOCALHOST_DLL:-$(publish_localhost)}
export PIPELINE_LOCALHOST_DLL
# Arguments starting with -- are options of the benchmark named before them
# (e.g. `scripts/bench.sh import --cold`).
names=()
declare -A options=()
for arg in "$@"; do
  if [[ "$arg" == --* && ${#names[@]} -gt 0 ]]; then
    options[${names[-1]}]+=" $arg"
  else
    names+=("$arg")
  fi
done
[ ${#names[@]} -gt 0 ] || names=(registry import plan fanout limits agent chunking deltas)
for name in "${names[@]}"; do
  echo "== benchmark: $name${options[$name]:-}"
  # shellcheck disable=SC2086 # options are single words
  dotnet tests/Pipeline.Benchmarks/bin/Release/net10.0/Pipeline.Benchmarks.dll "$name" ${options[$name]:-}
done

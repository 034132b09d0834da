#!/usr/bin/env bash
# Runs the benchmarks: each prints its figures as ratios against a peer run in the same run on
# the same data (skopeo copy, a plain SDK upload, a plan's own storage reads, SHA-256 alone and
# casync make for chunking).
# Usage: scripts/bench.sh [registry|import|plan|fanout|limits|agent|chunking|deltas]...
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
dotnet build tests/Pipeline.Benchmarks/Pipeline.Benchmarks.csproj -c Release --no-restore -nologo -v quiet -clp:ErrorsOnly
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(registry import plan fanout limits agent chunking deltas)
for name in "${which[@]}"; do
  echo "== benchmark: $name"
  dotnet tests/Pipeline.Benchmarks/bin/Release/net10.0/Pipeline.Benchmarks.dll "$name"
done

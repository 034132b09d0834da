#!/usr/bin/env bash
# Runs the pinned Azurite (node_modules) with the Node settings every local run uses: the test
# fixture, the demo and the benchmarks. Arguments are Azurite's own (--location, ports…).
# exec: the PID that started this script is Azurite's node process, so it can be stopped by it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# A fixed 64 MiB young generation. With V8's default, which also shrinks while Azurite idles, the
# chunks of request bodies in flight are promoted, and a layer upload costs Azurite more CPU in
# full collections than in its own work (2-3x its CPU for the same bytes).
young=(--min-semi-space-size=64 --max-semi-space-size=64)
# Room in the old generation: V8 starts a full collection once the old generation's headroom falls
# below the young generation's size. Sized from Azurite's ~50 MiB live heap, that headroom was only
# a few MiB above 64, and some runs then collected every 200 ms through a whole upload (a third
# more CPU for the same bytes).
old=(--initial-old-space-size=256)
# Nor shrink the heap or drop compiled code while idle: either makes the first upload after a
# pause pay for collections and recompilation.
idle=(--no-memory-reducer --no-flush-bytecode)
# --disableTelemetry: Azurite reports to a remote endpoint by default; local runs talk only to loopback.
exec node "${young[@]}" "${old[@]}" "${idle[@]}" "$root/node_modules/azurite/dist/src/azurite.js" \
  --silent --disableTelemetry --skipApiVersionCheck --loose "$@"

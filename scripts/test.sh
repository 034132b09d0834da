#!/usr/bin/env bash
# Builds everything with warnings as errors, compiles the Bicep, publishes the Functions app,
# runs every test against real Azurite and a real registry, and ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh

echo "== build (warnings are errors)"
dotnet build Pipeline.sln --no-restore -nologo -v quiet -clp:ErrorsOnly

echo "== bicep"
packages=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
bicep="$packages/azure.bicep.commandline.linux-x64/0.49.2/tools/bicep"
chmod +x "$bicep"
"$bicep" build infra/bicep/main.bicep --stdout > /dev/null
"$bicep" lint infra/bicep/main.bicep

echo "== publish functions"
# Restores for itself: a publish compiles ahead of time for linux-x64, whose compiler package a
# plain restore does not fetch.
dotnet publish functions/Pipeline.Functions.csproj -nologo -v quiet -clp:ErrorsOnly -o "$root/.tmp/publish/functions"

echo "== publish LocalHost (compiled ahead of time; the tests start this one)"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
PIPELINE_LOCALHOST_DLL=$(publish_localhost)
export PIPELINE_LOCALHOST_DLL

echo "== tests"
results="$root/.tmp/test-results"
rm -rf "$results"
status=0
dotnet test tests/Pipeline.Tests/Pipeline.Tests.csproj --no-build -nologo \
  --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" || status=$?

trx=$(find "$results" -name '*.trx' | head -n 1)
if [ -z "$trx" ]; then
  echo "tests: 0 passed, 1 failed"
  exit 1
fi
counters=$(grep -o '<Counters [^>]*>' "$trx")
passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
errors=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
notrun=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")
failed=$(( ${failed:-0} + ${errors:-0} + ${notrun:-0} ))
if [ "$failed" -ne 0 ]; then
  # The failures again, last before the summary, so that a log's tail names them.
  echo "== failed tests"
  awk '
    /<UnitTestResult / && /outcome="Failed"/ { match($0, /testName="[^"]*"/); print "  " substr($0, RSTART + 10, RLENGTH - 11); inside = 1; lines = 0 }
    inside {
      line = $0
      if (!show && (at = index(line, "<Message>")) > 0) { show = 1; line = substr(line, at + 9) }
      if (show) {
        end = index(line, "</Message>")
        if (end > 0) { line = substr(line, 1, end - 1) }
        if (lines < 12) { sub(/^ +/, "", line); print "    " line; lines++ }
        if (end > 0) { show = 0 }
      }
    }
    /<\/UnitTestResult>/ { inside = 0; show = 0 }
  ' "$trx"
fi
echo "tests: ${passed:-0} passed, ${failed} failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "${passed:-0}" -eq 0 ]; then
  exit 1
fi

#!/usr/bin/env bash
# Installs what the demo and the tests need: the CNCF registry, skopeo, umoci, htpasswd, jq,
# curl and casync (the reference implementation the chunk format is tested against) from apt, the
# pinned Azurite from package-lock.json, and the solution's NuGet packages.
# Idempotent and quiet when everything is already present.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

apt_packages=(docker-registry skopeo umoci apache2-utils jq curl casync)

missing=()
for pkg in "${apt_packages[@]}"; do
  if ! dpkg -s "$pkg" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  sudo_cmd=()
  if [[ "$(id -u)" -ne 0 ]]; then
    sudo_cmd=(sudo)
  fi
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "setup: npm not found; install Node.js 20 or later" >&2
  exit 1
fi

if [[ ! -x node_modules/.bin/azurite || ! -f node_modules/.package-lock.json \
      || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing Azurite (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: dotnet not found; install the .NET 10 SDK" >&2
  exit 1
fi

if ! restore_log="$(dotnet restore Pipeline.sln --verbosity quiet --nologo 2>&1)"; then
  echo "$restore_log" >&2
  echo "setup: dotnet restore failed" >&2
  exit 1
fi

#!/usr/bin/env bash
# Builds a small multi-arch sample image (amd64, arm64, arm/v7) without Docker and pushes it:
#   scripts/build-sample-image.sh WORKDIR REGISTRY_HOST REPOSITORY:TAG [LAYER_MB]
# umoci makes each architecture's layers and config; the index is written here, as umoci builds
# none; skopeo pushes the whole index.
set -euo pipefail
work=$1 registry=$2 target=$3 layer_mb=${4:-8}
mkdir -p "$work" && cd "$work"
rm -rf oci rootfs
umoci init --layout oci

# put_blob FILE: moves FILE into the layout's blobs, prints its digest.
put_blob() {
  local hex
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  mv "$1" "oci/blobs/sha256/$hex"
  echo "sha256:$hex"
}

# umoci has no variant option: add it to the config, then re-point the manifest and the tag.
set_variant() {
  local tag=$1 variant=$2 manifest config
  manifest=$(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' oci/index.json)
  config=$(jq -r '.config.digest' "oci/blobs/sha256/${manifest#sha256:}")
  jq -c --arg v "$variant" '. + {variant: $v}' "oci/blobs/sha256/${config#sha256:}" > config.new
  local csize; csize=$(stat -c %s config.new)
  local cdigest; cdigest=$(put_blob config.new)
  jq -c --arg d "$cdigest" --argjson s "$csize" '.config.digest = $d | .config.size = $s' "oci/blobs/sha256/${manifest#sha256:}" > manifest.new
  local msize; msize=$(stat -c %s manifest.new)
  local mdigest; mdigest=$(put_blob manifest.new)
  jq --arg t "$tag" --arg d "$mdigest" --argjson s "$msize" \
    '(.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)) |= (.digest = $d | .size = $s)' \
    oci/index.json > oci/index.json.new && mv oci/index.json.new oci/index.json
}

manifests='[]'
for platform in amd64 arm64 arm/v7; do
  arch=${platform%%/*}
  variant=$([[ $platform == */* ]] && echo "${platform#*/}" || true)
  tag=${platform//\//-}
  umoci new --image "oci:$tag"
  # A shared base layer (same bytes for every arch: stored once) and an arch-specific one.
  mkdir -p "rootfs/base/etc" "rootfs/$tag/app"
  echo "sample base" > rootfs/base/etc/sample-release
  umoci insert --image "oci:$tag" rootfs/base /
  head -c $((layer_mb * 1024 * 1024)) /dev/urandom > "rootfs/$tag/app/payload.bin"
  printf '#!/bin/sh\necho "hello from %s"\n' "$platform" > "rootfs/$tag/app/run"
  umoci insert --image "oci:$tag" "rootfs/$tag" /
  umoci config --image "oci:$tag" --os linux --architecture "$arch" --config.cmd /app/run
  [[ -n $variant ]] && set_variant "$tag" "$variant"
  desc=$(jq -c --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | {mediaType, digest, size}' oci/index.json)
  manifests=$(jq -c --argjson d "$desc" --arg a "$arch" --arg v "$variant" \
    '. + [$d + {platform: ({architecture: $a, os: "linux"} + (if $v == "" then {} else {variant: $v} end))}]' <<<"$manifests")
done

index=$(jq -c -n --argjson m "$manifests" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: $m}')
printf '%s' "$index" > index.blob
size=$(stat -c %s index.blob)
digest=$(put_blob index.blob)
jq --arg d "$digest" --argjson s "$size" \
  '.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "multi"}}]' \
  oci/index.json > oci/index.json.new && mv oci/index.json.new oci/index.json
skopeo copy --quiet --all --dest-tls-verify=false oci:oci:multi "docker://$registry/$target"
echo "$digest"

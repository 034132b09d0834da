#!/usr/bin/env bash
# The main job end to end on this machine: a local registry holding a sample multi-arch image,
# Azurite, LocalHost; then an import through the GraphQL API, with its progress, the version
# it committed and what was stored. Everything started here is stopped (by PID) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/setup.sh
echo "== building LocalHost"
dotnet build src/LocalHost/Pipeline.LocalHost.csproj --no-restore -nologo -v quiet -clp:ErrorsOnly
localhost_dll="$root/src/LocalHost/bin/Debug/net10.0/Pipeline.LocalHost.dll"

work=$(mktemp -d)
cleanup() {
  echo "== stopping services"
  stop_services
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting services"
blob_port=$(free_port) queue_port=$(free_port) table_port=$(free_port)
start_service azurite "$work/azurite.log" scripts/azurite.sh --location "$work/azurite" \
  --blobHost 127.0.0.1 --blobPort "$blob_port" --queueHost 127.0.0.1 --queuePort "$queue_port" \
  --tableHost 127.0.0.1 --tablePort "$table_port"
account_key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
storage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$account_key;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table_port/devstoreaccount1;"

registry_port=$(free_port)
registry="127.0.0.1:$registry_port"
cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: $registry, secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
YAML
start_service registry "$work/registry.log" docker-registry serve "$work/registry.yml"
wait_for_http "http://127.0.0.1:$blob_port/" 30
wait_for_http "http://$registry/v2/" 30

echo "== pushing a sample image (amd64, arm64, arm/v7) to $registry/demo/sample:1"
index_digest=$(scripts/build-sample-image.sh "$work/image" "$registry" demo/sample:1 16 | tail -n 1)
echo "  index $index_digest"

api_port=$(free_port)
export API="http://127.0.0.1:$api_port"
admin_key="demo-admin-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
Pipeline__Storage__ConnectionString="$storage" Pipeline__AdminKey="$admin_key" \
Pipeline__Registry__InsecureHosts="$registry" Logging__LogLevel__Default=Warning \
  start_service localhost "$work/localhost.log" dotnet "$localhost_dll" --urls "$API"
wait_for_http "$API/api/health" 60

echo "== creating a tenant key for customer 'demo'"
key=$(graphql "$admin_key" 'mutation { DM_create_api_key(customer_id: "demo", roles: ["import", "read"]) { key } }' | jq -r '.data.DM_create_api_key.key')

import_fields='import_id status container_version progress { layers_total layers_done bytes_total bytes_done }
  architectures { arch manifest_digest config_digest layers { digest size media_type } } error { code message }'
sources=$(jq -n --arg r "$registry/demo/sample:1" '[{arch: "amd64", image_reference: $r}, {arch: "arm64", image_reference: $r}, {arch: "armhf", image_reference: $r}]')

# import: starts an import of the sample image and follows it with a progress bar; prints the final JSON to $work/import.json.
import() {
  local started import_id answer status bar filled percent
  started=$(graphql "$key" "mutation(\$in: NodeServiceInput!) { DM_import_node_service(customer_id: \"demo\", node_service_input: \$in) { import_id status } }" \
    "$(jq -n --argjson s "$sources" '{in: {name: "sample", image_sources: $s}}')")
  import_id=$(jq -r '.data.DM_import_node_service.import_id' <<<"$started")
  if [[ $import_id == null ]]; then
    echo "import refused: $started" >&2
    return 1
  fi
  echo "  import $import_id"
  while :; do
    answer=$(graphql "$key" "query(\$id: ID!) { DM_get_import(import_id: \$id) { $import_fields } }" "{\"id\": \"$import_id\"}")
    status=$(jq -r '.data.DM_get_import.status' <<<"$answer")
    read -r done total ldone ltotal < <(jq -r '.data.DM_get_import.progress | "\(.bytes_done) \(.bytes_total) \(.layers_done) \(.layers_total)"' <<<"$answer")
    percent=$(( total > 0 ? done * 100 / total : 0 ))
    filled=$(( percent * 30 / 100 ))
    bar=$(printf '%*s' "$filled" '' | tr ' ' '#')$(printf '%*s' $((30 - filled)) '' | tr ' ' '.')
    printf '\r  [%s] %3d%%  %s/%s blobs  %s/%s MB  %-9s' "$bar" "$percent" "$ldone" "$ltotal" \
      "$((done / 1048576))" "$((total / 1048576))" "$status"
    [[ $status == completed || $status == failed ]] && break
    sleep 0.3
  done
  echo
  jq '.data.DM_get_import' <<<"$answer" > "$work/import.json"
  [[ $status == completed ]]
}

echo "== importing node service 'sample' (three architectures)"
start=$(date +%s%N)
if ! import; then
  jq . "$work/import.json"
  exit 1
fi
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf '  took %d.%01d s\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))

echo "== committed version $(jq -r .container_version "$work/import.json")"
jq -r '.architectures[] | "  \(.arch): manifest \(.manifest_digest)\n         config   \(.config_digest)\n" + ([.layers[] | "         layer    \(.digest)  \(.size) bytes"] | join("\n"))' "$work/import.json"
echo "== stored in blob container 'snapshots' (content-addressed, each digest once)"
jq -r '[.architectures[] | (.layers[] | {digest, size}), {digest: .config_digest, size: null}] | unique_by(.digest)[] | "  sha256/\(.digest[7:])"' "$work/import.json"

echo "== importing the unchanged image again"
import
echo "  version $(jq -r .container_version "$work/import.json") (unchanged image: the existing version is returned)"

echo "== node services of customer 'demo'"
graphql "$key" 'query { DM_get_node_services(customer_id: "demo") { total services { name node_service_id container_version container_image architectures } } }' | jq '.data.DM_get_node_services'
echo "demo: ok"

#!/usr/bin/env bash
# The main job end to end on this machine: a local registry holding a sample multi-arch image,
# Azurite, LocalHost; then an import through the GraphQL API, with its progress, the version
# it committed and what was stored; then what a device maker's agent does with it: register a
# device, add an instance, read the target, download the plan's blobs into a device store and
# check them, resume a download, ask for the delta, report status; and the reference device agent
# doing all of it for a second device. Everything started here is stopped (by PID) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/setup.sh
echo "== building LocalHost (compiled ahead of time) and the reference device agent"
localhost_dll=$(publish_localhost)
dotnet build src/DeviceAgent/Pipeline.DeviceAgent.csproj --no-restore -nologo -v quiet -clp:ErrorsOnly
agent_dll="$root/src/DeviceAgent/bin/Debug/net10.0/pipeline-agent.dll"

work=$(mktemp -d)
download_pid=''
cleanup() {
  echo "== stopping services"
  # A download interrupted by Ctrl-C or a failure must not outlive the demo.
  if [[ -n $download_pid ]]; then
    kill -TERM "$download_pid" 2>/dev/null || true
    wait "$download_pid" 2>/dev/null || true
  fi
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
wait_for_http "http://127.0.0.1:$blob_port/" 30 azurite
wait_for_http "http://$registry/v2/" 30 registry

echo "== pushing a sample image (amd64, arm64, arm/v7) to $registry/demo/sample:1"
index_digest=$(scripts/build-sample-image.sh "$work/image" "$registry" demo/sample:1 16 | tail -n 1)
echo "  index $index_digest"

api_port=$(free_port)
export API="http://127.0.0.1:$api_port"
admin_key="demo-admin-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
Pipeline__Storage__ConnectionString="$storage" Pipeline__AdminKey="$admin_key" \
Pipeline__Registry__InsecureHosts="$registry" Logging__LogLevel__Default=Warning \
  start_service localhost "$work/localhost.log" dotnet "$localhost_dll" --urls "$API"
# Ready once its start-up warm-up has run (503 until then).
WAIT_FOR_OK=1 wait_for_http "$API/api/health" 60 localhost

echo "== creating a tenant key for customer 'demo'"
# deploy: the same key also registers the device and adds the instance further down.
key=$(graphql_data "$admin_key" 'mutation { DM_create_api_key(customer_id: "demo", roles: ["import", "read", "deploy"]) { key } }' | jq -r '.DM_create_api_key.key')

import_fields='import_id node_service_id status container_version progress { layers_total layers_done bytes_total bytes_done }
  architectures { arch manifest_digest config_digest layers { digest size media_type } } error { code message }'
sources=$(jq -n --arg r "$registry/demo/sample:1" '[{arch: "amd64", image_reference: $r}, {arch: "arm64", image_reference: $r}, {arch: "armhf", image_reference: $r}]')

# import: starts an import of the sample image and follows it with a progress bar; prints the final JSON to $work/import.json.
import() {
  local started import_id answer status done total ldone ltotal
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
    progress_bar "$done" "$total" "$ldone/$ltotal blobs  $(mb "$done")/$(mb "$total") MB  $status"
    [[ $status == completed || $status == failed ]] && break
    sleep 0.3
  done
  progress_end
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
node_service_id=$(jq -r .node_service_id "$work/import.json")

# A device maker's arm64 gateway: registered and given an instance with the tenant key; from the
# target on, it speaks to the API with nothing but its own device key.
device_id="demo-gw-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "== registering device $device_id (arm64)"
device_key=$(graphql_data "$key" 'mutation($d: ID!) { DM_register_device(customer_id: "demo", device_id: $d, arch: "arm64") { device_id arch device_key } }' \
  "$(jq -n --arg d "$device_id" '{d: $d}')" | jq -r '.DM_register_device.device_key')
echo "  device key ${device_key:0:8}… (issued once: the device keeps it)"

echo "== adding an instance of 'sample' on $device_id"
instance_id=$(graphql_data "$key" 'mutation($s: ID!, $d: ID!) { DM_add_node_service_instance(node_service_id: $s, device_id: $d) { node_service_instance_id arch target_version } }' \
  "$(jq -n --arg s "$node_service_id" --arg d "$device_id" '{s: $s, d: $d}')" |
  tee "$work/instance.json" | jq -r '.DM_add_node_service_instance.node_service_instance_id')
jq -r '.DM_add_node_service_instance | "  instance \(.node_service_instance_id)  arch \(.arch)  target version \(.target_version)"' "$work/instance.json"

device_dir="$work/device"
store="$device_dir/blobs/sha256"
mkdir -p "$store"

# device_call OUT METHOD PATH [CURL_ARGS...]: a device route with the device key; the body goes to
# OUT, the headers to OUT.headers; prints the HTTP status; fails showing the error body from 400 on.
device_call() {
  local out=$1 method=$2 path=$3 code
  shift 3
  code=$(curl -sS -o "$out" -D "$out.headers" -w '%{http_code}' -X "$method" \
    -H "Authorization: Bearer $device_key" "$@" "$API$path") || return 1
  if (( code >= 400 )); then
    echo "$method $path: HTTP $code $(cat "$out" 2>/dev/null)" >&2
    return 1
  fi
  echo "$code"
}

# plan OUT HAVE_JSON: asks the instance's plan for a device that already holds HAVE_JSON's digests.
plan() {
  device_call "$1" POST "$plan_path" -H 'Content-Type: application/json' \
    --data-binary "$(jq -cn --argjson h "$2" '{have: $h}')" >/dev/null
}

echo "== GET /api/devices/$device_id/target"
device_call "$device_dir/target.json" GET "/api/devices/$device_id/target" >/dev/null
jq . "$device_dir/target.json"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' "$device_dir/target.json.headers" | tr -d '\r')
code=$(device_call "$device_dir/target-again.json" GET "/api/devices/$device_id/target" -H "If-None-Match: $etag")
echo "  again with If-None-Match: $etag -> HTTP $code"
if [[ $code != 304 ]]; then
  echo "expected 304 Not Modified for an unchanged target" >&2
  exit 1
fi
plan_path=$(jq -r --arg i "$instance_id" '.instances[] | select(.node_service_instance_id == $i) | .plan_url' "$device_dir/target.json")
if [[ -z $plan_path ]]; then
  echo "the target does not list instance $instance_id" >&2
  exit 1
fi

echo "== plan for a device holding nothing"
plan "$device_dir/plan.json" '[]'
jq -r '"  version \(.container_version)  arch \(.arch)  manifest \(.manifest_digest)
  \(.blobs | length) blobs to download: \(.bytes_to_download) of \(.bytes_total) bytes"' "$device_dir/plan.json"
# The demo promises loopback only: a plan pointing elsewhere would be a misconfiguration.
if jq -e '[.blobs[].url, .env_url] | any(startswith("http://127.0.0.1:") | not)' "$device_dir/plan.json" >/dev/null; then
  echo "the plan's URLs leave this machine: $(jq -c '[.blobs[].url, .env_url]' "$device_dir/plan.json")" >&2
  exit 1
fi

# download_plan PLAN: downloads the plan's blobs into the store as .part files, one bar across the
# whole plan. curl writes in the background while the file's growing size drives the bar.
download_plan() {
  local plan=$1 total count i=0 fetched=0 got digest size url part start elapsed rate
  total=$(jq -r .bytes_to_download "$plan")
  count=$(jq '.blobs | length' "$plan")
  start=$(date +%s%N)
  while read -r digest size url; do
    i=$((i + 1))
    part="$store/${digest#sha256:}.part"
    rm -f "$part"
    curl -sS --fail -o "$part" "$url" </dev/null &
    download_pid=$!
    while :; do
      got=$(stat -c %s "$part" 2>/dev/null || echo 0)
      elapsed=$(( ($(date +%s%N) - start) / 1000000 + 1 ))
      rate=$(( (fetched + got) * 1000 / elapsed ))
      progress_bar $((fetched + got)) "$total" "$i/$count blobs  $(mb $((fetched + got)))/$(mb "$total") MB  $(mb "$rate") MB/s"
      kill -0 "$download_pid" 2>/dev/null || break
      sleep 0.1
    done
    if ! wait "$download_pid"; then
      download_pid=''
      progress_end
      echo "download of $digest failed" >&2
      return 1
    fi
    download_pid=''
    fetched=$((fetched + size))
  done < <(jq -r '.blobs[] | "\(.digest) \(.size) \(.url)"' "$plan")
  progress_end
}

echo "== downloading the plan into the device store"
download_plan "$device_dir/plan.json"
echo "== verifying every blob (size and sha256), then moving it into place"
while read -r digest size media_type; do
  verify_blob "$store/${digest#sha256:}.part" "$digest" "$size"
  mv "$store/${digest#sha256:}.part" "$store/${digest#sha256:}"
  printf '  ok  %s  %9d bytes  %s\n' "$digest" "$size" "$media_type"
done < <(jq -r '.blobs[] | "\(.digest) \(.size) \(.media_type)"' "$device_dir/plan.json")
read -r env_digest env_size < <(jq -r '.env | "\(.digest) \(.size)"' "$device_dir/plan.json")
curl -sS --fail -o "$store/${env_digest#sha256:}.part" "$(jq -r .env_url "$device_dir/plan.json")"
verify_blob "$store/${env_digest#sha256:}.part" "$env_digest" "$env_size"
mv "$store/${env_digest#sha256:}.part" "$store/${env_digest#sha256:}"
printf '  ok  %s  %9d bytes  env file (/host/lxc.env)\n' "$env_digest" "$env_size"

echo "== resuming an interrupted download (the largest blob)"
read -r digest size url < <(jq -r '.blobs | max_by(.size) | "\(.digest) \(.size) \(.url)"' "$device_dir/plan.json")
part="$device_dir/resume.part"
half=$((size / 2))
rm -f "$part"
curl -sS --fail -r "0-$((half - 1))" -o "$part" "$url"
if [[ $(stat -c %s "$part") != "$half" ]]; then
  echo "the blob URL ignored Range: got $(stat -c %s "$part") bytes for the first $half" >&2
  exit 1
fi
echo "  first part: bytes 0-$((half - 1)) of $size, then the connection \"drops\""
resumed=$(curl -sS --fail -C - -o "$part" -w '%{http_code} %{size_download}' "$url")
read -r code got <<<"$resumed"
echo "  resumed with curl -C -: HTTP $code, $got more bytes"
verify_blob "$part" "$digest" "$size"
echo "  joined file: $size bytes, $digest verified"
rm -f "$part"

echo "== plan for a device holding everything it downloaded"
have=$(find "$store" -type f ! -name '*.part' -printf 'sha256:%f\n' | jq -R . | jq -cs .)
plan "$device_dir/plan-again.json" "$have"
jq -r '"  version \(.container_version): bytes_to_download \(.bytes_to_download) of \(.bytes_total), blobs \(.blobs)"' "$device_dir/plan-again.json"
if ! jq -e '.bytes_to_download == 0 and .blobs == []' "$device_dir/plan-again.json" >/dev/null; then
  echo "expected nothing to download" >&2
  exit 1
fi

version=$(jq -r .container_version "$device_dir/plan.json")
echo "== reporting status: version $version running, healthy"
code=$(device_call "$device_dir/status.json" POST "${plan_path%/plan}/status" -H 'Content-Type: application/json' \
  --data-binary "$(jq -cn --argjson v "$version" '{container_version: $v, state: "running", healthy: true, message: "demo"}')")
echo "  HTTP $code"
echo "== instances of 'sample', as the platform sees them"
graphql_data "$key" 'query($s: ID!) { DM_get_node_service_instances(node_service_id: $s) { total instances { node_service_instance_id device_id status { container_version state healthy message reported_at } } } }' \
  "$(jq -n --arg s "$node_service_id" '{s: $s}')" | jq '.DM_get_node_service_instances'
echo "== the version's rollout (one monitored wave by default; a failing device would roll it back)"
graphql_data "$key" 'query($s: ID!, $v: Int!) { DM_get_rollout(node_service_id: $s, container_version: $v) { container_version state current_wave reason waves { percent instances healthy failed pending } } }' \
  "$(jq -n --arg s "$node_service_id" --argjson v "$version" '{s: $s, v: $v}')" | jq -c '.DM_get_rollout'

# The same, done by the reference device agent for a second gateway: one round of target, plan,
# resumable verified downloads, the version switched in place, a health check and a report.
agent_device="demo-agent-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "== the reference device agent brings $agent_device (amd64) to version $version"
graphql_data "$key" 'mutation($d: ID!) { DM_register_device(customer_id: "demo", device_id: $d, arch: "amd64") { device_key } }' \
  "$(jq -n --arg d "$agent_device" '{d: $d}')" | jq -r '.DM_register_device.device_key' > "$work/agent.key"
graphql_data "$key" 'mutation($s: ID!, $d: ID!) { DM_add_node_service_instance(node_service_id: $s, device_id: $d) { node_service_instance_id } }' \
  "$(jq -n --arg s "$node_service_id" --arg d "$agent_device" '{s: $s, d: $d}')" > /dev/null
dotnet "$agent_dll" once --api "$API" --device "$agent_device" --key-file "$work/agent.key" --store "$work/agent-store" \
  --health-cmd 'test -f config.json -a -f lxc.env'
current=$(readlink "$work"/agent-store/instances/*/current)
echo "  the agent's store: current -> $current, $(find "$work/agent-store/blobs" -type f | wc -l) verified blobs"
[[ $current == "versions/$version" ]]
graphql_data "$key" 'query($s: ID!) { DM_get_node_service_instances(node_service_id: $s) { instances { device_id status { container_version state healthy message } } } }' \
  "$(jq -n --arg s "$node_service_id" '{s: $s}')" | jq -c --arg d "$agent_device" '.DM_get_node_service_instances.instances[] | select(.device_id == $d)'
echo "demo: ok"

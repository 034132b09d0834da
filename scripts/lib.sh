# Helpers shared by the scripts: free loopback ports, starting services we stop by PID, and
# calling the GraphQL API. Sourced, not run.

# A loopback port nothing listens on.
free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

# Starts a service in the background, logging to $2; records its PID in SERVICE_PIDS.
SERVICE_PIDS=()
start_service() {
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  SERVICE_PIDS+=("$!")
  echo "  started $name (pid $!)"
}

# Stops every service started with start_service: SIGTERM, a grace period, then SIGKILL.
stop_services() {
  local pid i
  for pid in "${SERVICE_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${SERVICE_PIDS[@]}"; do
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  SERVICE_PIDS=()
}

# Waits until a URL answers (any HTTP status), or fails after $2 seconds.
wait_for_http() {
  local url=$1 seconds=${2:-30} i
  for i in $(seq 1 $((seconds * 10))); do
    if curl -s -o /dev/null "$url"; then
      return 0
    fi
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

# graphql KEY QUERY [VARIABLES_JSON]: POSTs to $API/api/graphql and prints the JSON answer.
graphql() {
  local key=$1 query=$2 variables=${3:-'{}'}
  jq -n --arg q "$query" --argjson v "$variables" '{query: $q, variables: $v}' |
    curl -sS -X POST "$API/api/graphql" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' --data-binary @-
}

# Helpers shared by the scripts: free loopback ports, starting services we stop by PID, calling
# the GraphQL API, a progress bar, and checking downloaded blobs. Sourced, not run.

# A loopback port nothing listens on, below the kernel's ephemeral range (32768 and up by default),
# so an outgoing connection of another process cannot take it between this check and the bind.
free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 12000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

# Starts a service in the background, logging to $2; records its PID in SERVICE_PIDS (and its
# name and log, for wait_for_http to show when it dies before answering).
SERVICE_PIDS=()
SERVICE_NAMES=()
SERVICE_LOGS=()
start_service() {
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  SERVICE_PIDS+=("$!")
  SERVICE_NAMES+=("$name")
  SERVICE_LOGS+=("$log")
  echo "  started $name (pid $!)"
}

# service_exited NAME: succeeds, after printing the end of its log, when the service started as
# NAME is no longer running.
service_exited() {
  local i
  for i in "${!SERVICE_NAMES[@]}"; do
    if [[ ${SERVICE_NAMES[$i]} == "$1" ]] && ! kill -0 "${SERVICE_PIDS[$i]}" 2>/dev/null; then
      echo "$1 exited before it answered; the end of its log (${SERVICE_LOGS[$i]}):" >&2
      tail -n 40 "${SERVICE_LOGS[$i]}" >&2
      return 0
    fi
  done
  return 1
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
  SERVICE_NAMES=()
  SERVICE_LOGS=()
}

# Waits until a URL answers (any HTTP status), or fails after $2 seconds; with $3, the name of the
# service that should answer, fails at once, showing its log, if that service has exited.
wait_for_http() {
  local url=$1 seconds=${2:-30} service=${3:-} i
  # WAIT_FOR_OK=1: only a 2xx answer counts (a service that answers 503 while starting).
  local fail=()
  [[ ${WAIT_FOR_OK:-} == 1 ]] && fail=(-f)
  for i in $(seq 1 $((seconds * 10))); do
    if curl -s "${fail[@]}" -o /dev/null "$url"; then
      return 0
    fi
    if [[ -n $service ]] && service_exited "$service"; then
      return 1
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

# graphql_data KEY QUERY [VARIABLES_JSON]: like graphql, but prints only .data, and fails showing
# the errors when there are any (GraphQL answers HTTP 200 even then).
graphql_data() {
  local answer
  answer=$(graphql "$@") || return 1
  if ! jq -e '(.errors // []) == [] and .data != null' >/dev/null <<<"$answer"; then
    echo "GraphQL error: $(jq -c '.errors // .' <<<"$answer")" >&2
    return 1
  fi
  jq '.data' <<<"$answer"
}

# mb BYTES: the size in MB with one decimal, e.g. 16.2.
mb() {
  printf '%d.%d' $(($1 / 1048576)) $(($1 % 1048576 * 10 / 1048576))
}

# progress_bar DONE TOTAL TEXT: "[#########.....]  42%  TEXT". On a terminal the line is redrawn
# in place; elsewhere (a log, a pipe, CI) carriage returns would pile up into one long line, so a
# line is printed only at each quarter reached, and progress_end adds the final state.
PROGRESS_LINE='' PROGRESS_SHOWN='' PROGRESS_QUARTER=-1
progress_bar() {
  local done=$1 total=$2 text=$3 percent filled bar rest
  percent=$(( total > 0 ? done * 100 / total : 0 ))
  percent=$(( percent > 100 ? 100 : percent ))
  filled=$(( percent * 30 / 100 ))
  printf -v bar '%*s' "$filled" ''
  printf -v rest '%*s' $((30 - filled)) ''
  printf -v PROGRESS_LINE '  [%s%s] %3d%%  %s' "${bar// /#}" "${rest// /.}" "$percent" "$text"
  if [[ -t 1 ]]; then
    printf '\r%s\033[K' "$PROGRESS_LINE"
  elif (( percent / 25 > PROGRESS_QUARTER )); then
    PROGRESS_QUARTER=$(( percent / 25 ))
    PROGRESS_SHOWN=$PROGRESS_LINE
    echo "$PROGRESS_LINE"
  fi
}

# progress_end: ends the bar drawn by progress_bar, leaving its last state on screen.
progress_end() {
  if [[ -t 1 ]]; then
    echo
  elif [[ -n $PROGRESS_LINE && $PROGRESS_LINE != "$PROGRESS_SHOWN" ]]; then
    echo "$PROGRESS_LINE"
  fi
  PROGRESS_LINE='' PROGRESS_SHOWN='' PROGRESS_QUARTER=-1
}

# verify_blob FILE DIGEST SIZE: fails, saying why, unless FILE has exactly SIZE bytes whose sha256 is DIGEST.
verify_blob() {
  local file=$1 digest=$2 size=$3 actual_size actual
  actual_size=$(stat -c %s "$file")
  if [[ $actual_size != "$size" ]]; then
    echo "$file: $actual_size bytes, expected $size for $digest" >&2
    return 1
  fi
  actual="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
  if [[ $actual != "$digest" ]]; then
    echo "$file: digest $actual, expected $digest" >&2
    return 1
  fi
}

# Publishes LocalHost compiled ahead of time (ReadyToRun, see its project file) into
# .tmp/publish/localhost and prints the path of its dll. A fresh LocalHost then starts importing
# without first compiling the code it runs: what a new user meets, and what the cold import
# benchmark measures. The tests run it too (PIPELINE_LOCALHOST_DLL).
publish_localhost() {
  local out="$root/.tmp/publish/localhost"
  dotnet publish src/LocalHost/Pipeline.LocalHost.csproj -c Release -p:PublishReadyToRun=true \
    -nologo -v quiet -clp:ErrorsOnly -o "$out" >&2
  echo "$out/Pipeline.LocalHost.dll"
}

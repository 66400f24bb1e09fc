#!/usr/bin/env bash
# bench/run.sh: measure build times, image size, start-up, service throughput, the remote cache,
# remote execution, push, compression, a full test re-run and reproducibility in one go; print a
# Markdown table and write a JSON file.
#
# Usage: bench/run.sh [--quick] [--json FILE]
#   --quick      one iteration of everything (a smoke run for CI, about 12 minutes: half of it
#                builds and runs the test suite twice)
#   --json FILE  where to write the JSON (default: bench/bench-<UTC time>.json in Bazel's
#                output folder; the path is printed)
# Environment: BENCH_KEEP=1 keeps the scratch folder (workspaces, output bases, logs).
#
# Runs on the host and drives ./bazelw. Every build happens in a copy of the workspace (the
# source tree is never touched, also when an edit is timed) with its own --output_base and
# --repository_cache under Bazel's output folder, which ./bazelw mounts at the same path inside
# its managed root, so both sides read the results. Measurements that need root, runc, wrk and
# nginx run inside the managed root as `bazel run //bench:...`. Medians over several runs;
# ratios come from variants measured side by side. No threshold is ever asserted.
set -euo pipefail

say() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }
usage() { sed -n '6,11p' "$0" | sed 's/^# \{0,1\}//'; }

quick=0
json=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --json) [[ $# -ge 2 && -n $2 ]] || die "--json needs a file name"; json=$2; shift ;;
    --json=*) json=${1#--json=}; [[ -n $json ]] || die "--json needs a file name" ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (usage: bench/run.sh [--quick] [--json FILE])" ;;
  esac
  shift
done
if [[ -n $json ]]; then
  json=$(realpath -m -- "$json")
  [[ -d $(dirname "$json") ]] || die "--json: folder $(dirname "$json") does not exist"
  [[ ! -d $json ]] || die "--json: $json is a folder"
fi

if ((quick)); then
  startup_runs=1 warm_runs=1 edit_runs=1 duration=2 rounds=1 warmup=1 call_runs=3 push_runs=1
  warm_cache_runs=1
else
  startup_runs=10 warm_runs=3 edit_runs=3 duration=10 rounds=3 warmup=2 call_runs=9 push_runs=5
  warm_cache_runs=3
fi

cd "$(dirname "$0")/.."
repo=$PWD
readonly EDITED=app/todos.py
[[ -f $EDITED ]] || die "$EDITED is missing: the incremental build edits it"

# Bazel's output folder, as tools/repro/check.sh finds it.
main_base=$(./bazelw info output_base 2>/dev/null) || main_base=""
[[ $main_base == /* ]] || die "./bazelw info output_base failed: run ./bazelw build //:image to see why"
out_root=$(dirname "$main_base")
[[ -n $json ]] || json="$out_root/bench/bench-$(date -u +%Y%m%dT%H%M%SZ).json"
scratch="$out_root/bench-$$"
raw="$scratch/raw"
repos="$scratch/repository-cache"
mkdir -p "$raw/logs" "$raw/images"
: >"$raw/builds.tsv"

servers=()   # "workspace output_base" of every Bazel server we started
rbe_state=""  # the remote-execution cluster's folder (inside the managed root) while it runs
cache_pid=""
registry_pid=""
# stop_group PID: TERM a process group we started, then KILL it if it lingers.
stop_group() {
  local i
  kill -TERM -- "-$1" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$1" 2>/dev/null || true
}
cleanup() {
  local code=$? pair
  trap - EXIT INT TERM
  [[ -z $cache_pid ]] || stop_group "$cache_pid"
  [[ -z $registry_pid ]] || stop_group "$registry_pid"
  [[ -z $rbe_state ]] || bzl "$ws_a" "$ob_a" run //tools/rbe:cluster -- stop --state "$rbe_state" >/dev/null 2>&1 || true
  for pair in "${servers[@]}"; do
    (cd "${pair%% *}" && ./bazelw --output_base="${pair#* }" shutdown) >/dev/null 2>&1 || true
  done
  # Bazel leaves its outputs read-only; a normal user must make them writable to remove them.
  if [[ -n ${BENCH_KEEP:-} ]]; then say "kept $scratch"; else chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"; fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A copy of the workspace without Bazel's symlinks, caches and personal settings.
snapshot() {
  mkdir -p "$2"
  tar -C "$1" --exclude=./.git --exclude='./bazel-*' --exclude=./user.bazelrc \
    --exclude='*/__pycache__' --exclude=./.ruff_cache --exclude=./.pytest_cache -cf - . \
    | tar -C "$2" -xf -
}

# bzl WORKSPACE OUTPUT_BASE ARGS...: ./bazelw in that workspace copy with that output base.
bzl() {
  local ws=$1 ob=$2
  shift 2
  [[ " ${servers[*]} " == *" $ws $ob "* ]] || servers+=("$ws $ob")
  (cd "$ws" && ./bazelw --output_base="$ob" --max_idle_secs=900 "$@")
}

micros() { local t=${1//[.,]/}; echo $((10#$t)); }

# timed_build NAME WORKSPACE OUTPUT_BASE FLAGS...: build //:image, log it, record wall time.
timed_build() {
  local name=$1 ws=$2 ob=$3 start end us
  shift 3
  start=$EPOCHREALTIME
  bzl "$ws" "$ob" build --color=no --curses=no --repository_cache="$repos" "$@" //:image \
    >"$raw/logs/$name.log" 2>&1 || { tail -n 40 "$raw/logs/$name.log" >&2; die "build $name failed"; }
  end=$EPOCHREALTIME
  us=$(($(micros "$end") - $(micros "$start")))
  printf '%s\t%d.%06d\tlogs/%s.log\n' "$name" $((us / 1000000)) $((us % 1000000)) "$name" \
    >>"$raw/builds.tsv"
  say "  $name: $((us / 1000000)).$(printf '%03d' $((us % 1000000 / 1000))) s"
}

# copy_image NAME WORKSPACE: keep the image the last build in WORKSPACE made (bazel-bin points
# into that build's output base).
copy_image() {
  [[ -d $2/bazel-bin/image ]] || die "no bazel-bin/image in $2 after build $1"
  cp -a "$2/bazel-bin/image/." "$raw/images/$1"
}

# run_tool NAME WORKSPACE OUTPUT_BASE TARGET ARGS...: `bazel run` a //bench tool, logged.
run_tool() {
  local name=$1 ws=$2 ob=$3 target=$4
  shift 4
  bzl "$ws" "$ob" run --color=no --curses=no --repository_cache="$repos" "$target" -- "$@" \
    >"$raw/logs/$name.log" 2>&1 || { tail -n 40 "$raw/logs/$name.log" >&2; die "$name failed"; }
}

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain 2>/dev/null) ]] || revision="$revision+dirty"
printf 'date\t%s\nquick\t%s\nrevision\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$quick" \
  "$revision" >"$raw/meta.tsv"

ws_a="$scratch/ws-a"
ob_a="$scratch/ob-a"
snapshot "$repo" "$ws_a"

say "build: cold (empty output base and repository cache), cold with a warm repository cache, warm no-op, incremental"
timed_build cold "$ws_a" "$ob_a"
copy_image cold "$ws_a"
# The same clean build in new output bases, the repository cache now warm: a new server and
# analysis every time, fetching nothing from the network.
for i in $(seq "$warm_cache_runs"); do
  timed_build "cold-warm-cache-$i" "$ws_a" "$scratch/ob-cw-$i"
  (cd "$ws_a" && ./bazelw --output_base="$scratch/ob-cw-$i" shutdown) >/dev/null 2>&1 || true
done
for i in $(seq "$warm_runs"); do timed_build "warm-$i" "$ws_a" "$ob_a"; done
cp "$ws_a/$EDITED" "$scratch/edited.orig"
for i in $(seq "$edit_runs"); do
  printf '\n# bench: incremental edit %d\n' "$i" >>"$ws_a/$EDITED"
  timed_build "incremental-edit-$i" "$ws_a" "$ob_a"
  copy_image "incremental-edit-$i" "$ws_a"
  cp "$scratch/edited.orig" "$ws_a/$EDITED"
  timed_build "incremental-restore-$i" "$ws_a" "$ob_a"
  copy_image "incremental-restore-$i" "$ws_a"
done

# start_server PID_VAR NAME READY_FILE TARGET ARGS...: `bazel run TARGET -- ARGS` in the
# background, in its own process group (clean-up stops it, with everything it started, through
# PID_VAR, set at once), until READY_FILE has content.
start_server() {
  local var=$1 name=$2 ready=$3 target=$4 pid
  shift 4
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c 'cd "$1" && exec ./bazelw --output_base="$2" --max_idle_secs=900 run \
    --color=no --curses=no --repository_cache="$3" "$4" -- "${@:5}"' \
    bench "$ws_a" "$ob_a" "$repos" "$target" "$@" >"$raw/logs/$name.log" 2>&1 &
  pid=$!
  printf -v "$var" '%s' "$pid"
  for _ in $(seq 600); do
    [[ -s $ready ]] && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$raw/logs/$name.log" >&2; die "$name failed"; }
    sleep 0.2
  done
  die "$name did not start within 120 s"
}

# timed NAME CMD...: one wall time in seconds, appended to calls.tsv.
timed() {
  local name=$1 start end us
  shift
  start=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || die "$name: '$*' failed"
  end=$EPOCHREALTIME
  us=$(($(micros "$end") - $(micros "$start")))
  printf '%s\t%d.%06d\n' "$name" $((us / 1000000)) $((us % 1000000)) >>"$raw/calls.tsv"
}
say "bazelw per call: ./bazelw info vs the same Bazel client in the warm server's namespaces, $call_runs pair(s)"
: >"$raw/calls.tsv"
bzl "$ws_a" "$ob_a" info release >/dev/null 2>&1
server_pid=$(cat "$ob_a/server/server.pid.txt")
as_user=()
[[ $(id -u) == 0 ]] || as_user=(--user)
for i in $(seq "$call_runs"); do
  timed bazelw bzl "$ws_a" "$ob_a" info release
  timed direct nsenter --target "$server_pid" "${as_user[@]}" --mount --root --wd -- /bin/sh -c \
    'cd "$1" && exec bazel --output_user_root="$2" --output_base="$3" --max_idle_secs=900 info release' \
    sh "$ws_a" "$out_root" "$ob_a"
done

say "image without library sources: //:image_slim (precompile_source_retention = \"omit_source\")"
bzl "$ws_a" "$ob_a" build --color=no --curses=no --repository_cache="$repos" //:image_slim \
  >"$raw/logs/image-slim.log" 2>&1 || { tail -n 40 "$raw/logs/image-slim.log" >&2; die "build //:image_slim failed"; }
cp -a "$ws_a/bazel-bin/image_slim/." "$raw/images/slim"

say "start-up: $startup_runs run(s) per image under runc (with and without .pyc, without library sources; stages)"
run_tool startup "$ws_a" "$ob_a" //bench:startup --out "$raw/startup.json" --runs "$startup_runs"

say "service: wrk, ${duration} s x $rounds round(s) per endpoint and event loop"
run_tool service "$ws_a" "$ob_a" //bench:service --out "$raw/service.json" \
  --duration "$duration" --rounds "$rounds" --warmup "$warmup"

say "compression: gzip vs zstd on //:image's layers, $push_runs run(s) each"
run_tool compression "$ws_a" "$ob_a" //bench:compression --out "$raw/compression.json" --runs "$push_runs"
say "push: our runner vs skopeo copy on //:image and //:image_index, $push_runs run(s) each"
run_tool push "$ws_a" "$ob_a" //bench:push --out "$raw/push.json" --runs "$push_runs"
say "push: ./bazelw run //:push (no-op) to a local registry, $call_runs run(s)"
registry_file="$scratch/registry.host"
start_server registry_pid registry "$registry_file" //bench:push --serve "$registry_file" \
  --watch-pid "$$"
push_to=(run --color=no --curses=no --repository_cache="$repos" //:push -- -r "$(cat "$registry_file")/app")
bzl "$ws_a" "$ob_a" "${push_to[@]}" >"$raw/logs/push-first.log" 2>&1 \
  || { tail -n 20 "$raw/logs/push-first.log" >&2; die "./bazelw run //:push failed"; }
: >"$raw/push_calls.tsv"
for i in $(seq "$call_runs"); do
  start=$EPOCHREALTIME
  bzl "$ws_a" "$ob_a" "${push_to[@]}" >/dev/null 2>&1 || die "./bazelw run //:push failed"
  us=$(($(micros "$EPOCHREALTIME") - $(micros "$start")))
  printf 'push\t%d.%06d\n' $((us / 1000000)) $((us % 1000000)) >>"$raw/push_calls.tsv"
done
stop_group "$registry_pid"
registry_pid=""

say "remote cache: nginx WebDAV on loopback, two clean builds"
port_file="$scratch/cache.port"
start_server cache_pid cache_server "$port_file" //bench:cache_server --port-file "$port_file" \
  --stats "$raw/cache.json" --watch-pid "$$"
remote=(--config=remote "--remote_cache=http://127.0.0.1:$(cat "$port_file")")
grep -q '^build:remote ' "$ws_a/.bazelrc" || die ".bazelrc has no build:remote config"
ws_b="$scratch/ws-b"
snapshot "$ws_a" "$ws_b"
timed_build remote-1 "$ws_a" "$scratch/ob-r1" "${remote[@]}"
copy_image remote-1 "$ws_a"
(cd "$ws_a" && ./bazelw --output_base="$scratch/ob-r1" shutdown) >/dev/null 2>&1 || true
timed_build remote-2 "$ws_b" "$scratch/ob-r2" "${remote[@]}"
copy_image remote-2 "$ws_b"
(cd "$ws_b" && ./bazelw --output_base="$scratch/ob-r2" shutdown) >/dev/null 2>&1 || true
stop_group "$cache_pid"
wait "$cache_pid" 2>/dev/null || true
cache_pid=""

say "remote execution: BuildGrid + 2 buildbox workers on loopback; a clean build there and here"
rbe_state=/var/tmp/kit-rbe-bench-$$
run_tool rbe-start "$ws_a" "$ob_a" //tools/rbe:cluster start --state "$rbe_state" --port 0 --workers 2
rbe_endpoint=$(sed -n 's/^rbe: cluster up at \(grpc:[^,]*\),.*/\1/p' "$raw/logs/rbe-start.log")
[[ -n $rbe_endpoint ]] || die "the cluster did not say where it listens (see $raw/logs/rbe-start.log)"
timed_build clean "$ws_a" "$scratch/ob-clean"
copy_image clean "$ws_a"
(cd "$ws_a" && ./bazelw --output_base="$scratch/ob-clean" shutdown) >/dev/null 2>&1 || true
timed_build rbe "$ws_a" "$scratch/ob-rbe" --config=rbe --remote_executor="$rbe_endpoint"
copy_image rbe "$ws_a"
(cd "$ws_a" && ./bazelw --output_base="$scratch/ob-rbe" shutdown) >/dev/null 2>&1 || true
run_tool rbe-status "$ws_a" "$ob_a" //tools/rbe:cluster status --state "$rbe_state" --json "$raw/rbe.json"
run_tool rbe-stop "$ws_a" "$ob_a" //tools/rbe:cluster stop --state "$rbe_state"
# What stop must not leave: a process or a mount naming the cluster's folder, a listening port.
left=()
for p in /proc/[0-9]*; do
  grep -qsF "$rbe_state" "$p/cmdline" && left+=("process ${p#/proc/}")
  grep -qsF "$rbe_state" "$p/mountinfo" && left+=("mount in ${p#/proc/}")
done
(exec 3<>"/dev/tcp/127.0.0.1/${rbe_endpoint##*:}") 2>/dev/null && left+=("port ${rbe_endpoint##*:}")
if ((${#left[@]})); then echo "${left[*]}" >"$raw/rbe-stop.txt"; else echo clean >"$raw/rbe-stop.txt"; fi
rbe_state=""

say "tests: ./bazelw test //... once (builds what the tests need), then a timed full re-run"
bzl "$ws_a" "$ob_a" test --color=no --curses=no --repository_cache="$repos" //... \
  >"$raw/logs/tests-first.log" 2>&1 || { tail -n 40 "$raw/logs/tests-first.log" >&2; die "tests failed"; }
start=$EPOCHREALTIME
bzl "$ws_a" "$ob_a" test --color=no --curses=no --repository_cache="$repos" --nocache_test_results \
  //... >"$raw/logs/tests-rerun.log" 2>&1 || { tail -n 40 "$raw/logs/tests-rerun.log" >&2; die "test re-run failed"; }
us=$(($(micros "$EPOCHREALTIME") - $(micros "$start")))
printf 'tests-rerun\t%d.%06d\tlogs/tests-rerun.log\n' $((us / 1000000)) $((us % 1000000)) >"$raw/tests.tsv"
say "  full re-run: $((us / 1000000)) s"

say "report"
bzl "$ws_a" "$ob_a" run --color=no --curses=no --repository_cache="$repos" //bench:report -- \
  --raw "$raw" --out "$raw/result.json" --markdown "$raw/table.md" \
  >"$raw/logs/report.log" 2>&1 || { tail -n 40 "$raw/logs/report.log" >&2; die "report failed"; }
mkdir -p "$(dirname "$json")"
cp "$raw/result.json" "$json.tmp.$$" && mv -f "$json.tmp.$$" "$json"
cat "$raw/table.md"
say "JSON written to $json"

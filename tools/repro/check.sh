#!/usr/bin/env bash
# Build //:image twice from scratch (separate output bases and repository caches, nothing shared)
# and compare the results byte for byte. Exit 1, naming the layer and files, when they differ.
# Usage: tools/repro/check.sh [TARGET]   (default //:image; //:image_index compares each platform)
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:-//:image}
# Output bases must be where ./bazelw mounts Bazel's output folder, so the host can read them.
output_base=$(./bazelw info output_base 2>/dev/null) || { echo "repro: error: ./bazelw info failed" >&2; exit 2; }
scratch="$(dirname "$output_base")/repro-$$"
# Bazel leaves its outputs read-only: make them writable (by their owner) to remove them.
cleanup() {
  local code=$?
  for i in 1 2; do ./bazelw --output_base="$scratch/$i" shutdown >/dev/null 2>&1 || true; done
  chmod -R u+w "$scratch" 2>/dev/null || true
  rm -rf "$scratch" "$scratch.log" || true
  exit "$code"
}
trap cleanup EXIT
for i in 1 2; do
  start=$SECONDS
  ./bazelw --output_base="$scratch/$i" build --repository_cache="$scratch/repos-$i" \
    --noshow_progress "$target" >"$scratch.log" 2>&1 || { cat "$scratch.log"; exit 2; }
  out=$(./bazelw --output_base="$scratch/$i" cquery --output=files "$target" 2>/dev/null | head -1)
  cp -a "$scratch/$i/execroot/_main/$out" "$scratch/image-$i"
  echo "build $i: $(cat "$scratch/$i/execroot/_main/$out.json.sha256" 2>/dev/null || echo '?') in $((SECONDS - start)) s"
done
# Bazel's own progress goes to the log; the comparison's verdict to the terminal.
./bazelw run //tools/repro:compare -- "$scratch/image-1" "$scratch/image-2" 2>"$scratch.log" \
  || { status=$?; grep -v '^INFO\|^WARNING\|^Loading\|^Analyzing' "$scratch.log" >&2 || true; exit $status; }

#!/usr/bin/env bash
# Build //:image here (this checkout, this user, this user's managed root) and compare it byte
# for byte with an image built elsewhere: another checkout path, another user, another managed
# root made at another time from the same tools/bazelw/root.lock. Exit 1 naming the differing
# layer and files when they differ. CI runs it as root against the normal user's build.
# Usage: tools/repro/cross.sh OTHER_IMAGE_DIR [TARGET]   (an OCI layout, e.g. a copy of bazel-bin/image)
set -euo pipefail
other=${1:?usage: tools/repro/cross.sh OTHER_IMAGE_DIR [TARGET]}
target=${2:-//:image}
[[ -f $other/index.json ]] || { echo "repro: error: $other is not an OCI layout (no index.json)" >&2; exit 2; }
other=$(cd "$other" && pwd -P)
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap '[[ -n ${copy:-} ]] && chmod -R u+w "$copy" 2>/dev/null; rm -rf "$log" "${copy:-}" || true' EXIT
./bazelw build --noshow_progress "$target" >"$log" 2>&1 || { cat "$log" >&2; exit 2; }
out=$(./bazelw cquery --output=files "$target" 2>/dev/null | head -1)
# The comparison runs inside the managed root, which sees this checkout and Bazel's output folder
# but not the other build's folder: copy that next to this build's output.
copy="$(./bazelw info output_base 2>/dev/null)/repro-other-$$"
cp -a "$other" "$copy"
echo "here:  $(cat "$out.json.sha256" 2>/dev/null || echo '?') ($(id -un), $PWD)"
./bazelw run //tools/repro:compare -- "$PWD/$out" "$copy" 2>"$log" \
  || { status=$?; grep -v '^INFO\|^WARNING\|^Loading\|^Analyzing' "$log" >&2 || true; exit $status; }

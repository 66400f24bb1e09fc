"""Implementation of oci_push: a runner that pushes an image to a registry, with crane or push.py.

crane (go-containerregistry's CLI, the engine rules_oci's own oci_push runs) does the plain
case, `-r`/`-t`/`--insecure` only: side by side on this machine it is faster than our push.py
and than `skopeo copy` (see README, Numbers), most of push.py's time being Python's start. push.py
does everything else: its options (--authfile, --chunked, --retries, -j, ...), and a push whose
blobs this machine has pushed to another repository of the registry, which it mounts (crane
mounts only when copying between repositories). Both record what they pushed in the same mount
cache. Without crane (an optional host program), push.py does it all.
"""

load("//private:runner.bzl", "PYTHON_TOOLCHAIN", "rlocation", "write_runner")

# Bash run before push.py: the crane path, which exits when it applies. {crane}, {layout} and
# {config} are runfiles paths; the config file holds the repository, the digest, then the tags.
_CRANE_PATH = """\
crane="$r/{crane}" layout="$r/{layout}"
{{ read -r repo; read -r digest; mapfile -t tags; }} <"$r/{config}"
fast=1 insecure=
args=("$@")
while (( $# )); do
  case $1 in
    -r|--repository) (( $# > 1 )) || {{ fast=; break; }}; repo=$2; shift 2 ;;
    --repository=*) repo=${{1#*=}}; shift ;;
    -t|--tag) (( $# > 1 )) || {{ fast=; break; }}; tags+=("$2"); shift 2 ;;
    --tag=*) tags+=("${{1#*=}}"); shift ;;
    --insecure) insecure=1; shift ;;
    *) fast=; break ;;
  esac
done
set -- "${{args[@]}}"
host=${{repo%%/*}} name=${{repo#*/}}
hostname=${{host%:*}}
[[ $host == \\[* ]] && hostname=${{host%%]*}}]
local=
[[ $hostname == localhost || $hostname == 127.* || $hostname == "[::1]" ]] && local=1
# Anything push.py must check or report (a bad repository or tag, --insecure to a remote host)
# goes to push.py, as does a missing crane (the optional host program's stand-in is a script).
[[ $repo =~ ^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+$ && ( $hostname == *.* || $host == *:* || $local ) ]] || fast=
[[ -n $insecure && -z $local ]] && fast=
for t in "${{tags[@]}}"; do [[ $t =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}$ ]] || fast=; done
magic=
[[ -n $fast ]] && {{ IFS= read -r -n 4 magic <"$crane" || true; }}
[[ $magic == $'\\x7fELF' ]] || fast=
# A blob this machine pushed to another repository of the registry: push.py mounts it.
cache=${{XDG_CACHE_HOME:-$HOME/.cache}}/oci_push/mounts/$host
if [[ -n $fast && -d $cache ]]; then
  for blob in "$layout"/blobs/sha256/*; do
    entry=$cache/${{blob##*/}} from=
    [[ -f $entry ]] && {{ read -r from <"$entry" || true; }}
    if [[ -n $from && $from != "$name" ]]; then fast=; break; fi
  done
fi
if [[ -n $fast ]]; then
  flags=()
  [[ -n $local ]] && flags=(--insecure)  # plain HTTP, as push.py allows it: this machine only
  echo "oci_push: pushing with crane to $repo@$digest" >&2
  # The first tag in the push itself (crane sets it last, after every blob and manifest), the
  # others after; without tags, by digest.
  declare -A seen=()
  first=${{tags[0]:-}}
  ref=$repo@$digest
  [[ -n $first ]] && seen[$first]=1 ref=$repo:$first
  "$crane" push "${{flags[@]}}" "$layout" "$ref" >/dev/null \
    || {{ s=$?; echo "oci_push: error: crane push to $repo failed (exit $s): see above" >&2; exit 1; }}
  for t in "${{tags[@]}}"; do
    [[ -n ${{seen[$t]:-}} ]] && continue
    seen[$t]=1
    "$crane" tag "${{flags[@]}}" "$repo@$digest" "$t" >/dev/null \
      || {{ s=$?; echo "oci_push: error: crane tag $t failed (exit $s): see above" >&2; exit 1; }}
  done
  [[ -d $cache ]] || mkdir -p "$cache" 2>/dev/null
  [[ -d $cache ]] && for blob in "$layout"/blobs/sha256/*; do
    printf '%s\\n' "$name" >"$cache/${{blob##*/}}" 2>/dev/null || break
  done
  echo "$repo@$digest"
  exit 0
fi
"""

def _oci_push_impl(ctx):
    if ctx.attr.repository and ctx.file.repository_file:
        fail("oci_push: give `repository` or `repository_file`, not both")
    if "@" in ctx.attr.repository:
        fail("oci_push: `repository` must not hold a digest, got %r" % ctx.attr.repository)

    config = ctx.actions.declare_file(ctx.label.name + ".push.json")
    runner_config = ctx.actions.declare_file(ctx.label.name + ".push.txt")
    args = ctx.actions.args()
    args.add(config, format = "--write-config=%s")
    args.add(runner_config, format = "--write-runner-config=%s")
    args.add(ctx.file.image.path, format = "--layout=%s")
    inputs = [ctx.file.image]
    if ctx.attr.repository:
        args.add(ctx.attr.repository, format = "--repository=%s")
    if ctx.file.repository_file:
        args.add(ctx.file.repository_file, format = "--repository-file=%s")
        inputs.append(ctx.file.repository_file)
    if ctx.file.remote_tags:
        args.add(ctx.file.remote_tags, format = "--tags-file=%s")
        inputs.append(ctx.file.remote_tags)
    ctx.actions.run(
        executable = ctx.executable._push_tool,
        arguments = [args],
        inputs = inputs,
        outputs = [config, runner_config],
        mnemonic = "OciPushConfig",
        progress_message = "Checking repository and tags of %{label}",
    )
    tool = ctx.attr._push_runner[DefaultInfo]
    runner, runfiles = write_runner(
        ctx,
        "pushes the image (bazel run %s -- [-r HOST/NAME] [-t TAG]...)" % ctx.label,
        tool,
        ctx.file._push_main,
        [("--image", ctx.file.image), ("--config", config)],
        # Paths the user types (--authfile) are relative to where they ran bazel.
        prelude = 'if [[ -n "${BUILD_WORKING_DIRECTORY:-}" ]]; then cd "$BUILD_WORKING_DIRECTORY"; fi\n' +
                  _CRANE_PATH.format(
                      crane = rlocation(ctx, ctx.file._crane),
                      layout = rlocation(ctx, ctx.file.image),
                      config = rlocation(ctx, runner_config),
                  ),
    )
    runfiles = runfiles.merge(ctx.runfiles(files = [ctx.file._crane, runner_config]))
    return [DefaultInfo(executable = runner, files = depset([runner]), runfiles = runfiles)]

oci_push_rule = rule(
    doc = """Pushes an image to a registry: `bazel run :<name>` (see oci_push in defs.bzl).""",
    implementation = _oci_push_impl,
    executable = True,
    toolchains = [PYTHON_TOOLCHAIN],
    attrs = {
        "image": attr.label(
            doc = "The image to push: an OCI layout directory (an oci_image).",
            mandatory = True,
            allow_single_file = True,
        ),
        "remote_tags": attr.label(
            doc = "File of tags, one a line, pointed at the pushed digest. `-t` adds more.",
            allow_single_file = True,
        ),
        "repository": attr.string(
            doc = "HOST[:PORT]/NAME to push to, without tag or digest. `-r` replaces it.",
        ),
        "repository_file": attr.label(
            doc = "A file holding the repository on one line, instead of `repository`.",
            allow_single_file = True,
        ),
        "_crane": attr.label(
            doc = "Internal: crane, which pushes in the plain case (an optional host program).",
            default = Label("@crane//:crane"),
            allow_single_file = True,
            cfg = "target",
        ),
        "_push_main": attr.label(
            doc = "Internal: push.py, which the runner runs with the Python toolchain.",
            default = Label("//oci/private:push.py"),
            allow_single_file = True,
        ),
        "_push_runner": attr.label(
            doc = "Internal: push.py as the runner's tool.",
            default = Label("//oci/private:push_tool"),
            executable = True,
            cfg = "target",
        ),
        "_push_tool": attr.label(
            doc = "Internal: push.py as a build tool (checks repository and tags).",
            default = Label("//oci/private:push_tool"),
            executable = True,
            cfg = "exec",
        ),
    },
)

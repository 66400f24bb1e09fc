"""Implementation of the image extras (see //image_extras:defs.bzl)."""

load("//image_extras:stamp.bzl", "STAMP_ATTRS", "stamp_files")

def _stamped_file_impl(ctx):
    if bool(ctx.attr.pairs) == bool(ctx.attr.lines):
        fail("stamped_file: give exactly one of `pairs` or `lines`")
    if ctx.attr.pairs:
        for key, value in ctx.attr.pairs.items():
            if not key or "=" in key or "\n" in key or "\n" in value:
                fail("stamped_file: bad pair %r = %r (no '=' in keys, no newlines)" % (key, value))
        text = "".join(["%s=%s\n" % item for item in ctx.attr.pairs.items()])
    else:
        for line in ctx.attr.lines:
            if "\n" in line:
                fail("stamped_file: line %r holds a newline" % line)
        text = "".join([line + "\n" for line in ctx.attr.lines])
    template = ctx.actions.declare_file(ctx.label.name + ".template")
    ctx.actions.write(template, text)
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    stamps = stamp_files(ctx)
    args = ctx.actions.args()
    args.add("stamp")
    args.add(template, format = "--input=%s")
    args.add(out, format = "--output=%s")
    args.add_all(stamps, format_each = "--stamp-file=%s")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = [template] + stamps,
        outputs = [out],
        mnemonic = "StampFile",
        progress_message = "Stamping %{label}",
    )
    return [DefaultInfo(files = depset([out]))]

stamped_file = rule(
    doc = """`KEY=VALUE` lines (or plain lines) with `{KEY}` / `{KEY:-default}` stamped in.

The file rules_oci's `labels`, `annotations`, `env`, `repo_tags` and `remote_tags` accept. A key
missing from the workspace status (always the case unstamped) takes its default, else
"unknown", so unstamped builds stay reproducible.""",
    implementation = _stamped_file_impl,
    attrs = dict(STAMP_ATTRS, **{
        "lines": attr.string_list(doc = "Plain lines, e.g. tags \"{STABLE_VERSION:-dev}\"."),
        "pairs": attr.string_dict(doc = "KEY -> value template, e.g. labels."),
        "_tool": attr.label(
            default = "//image_extras/private:extras",
            executable = True,
            cfg = "exec",
        ),
    }),
)

def _healthcheck_base_impl(ctx):
    if not ctx.attr.healthcheck:
        fail("healthcheck_base: `healthcheck` is empty")
    spec = json.decode(ctx.attr.healthcheck)
    if type(spec) != "dict" or type(spec.get("test")) != "list" or not spec["test"]:
        fail("healthcheck_base: healthcheck must be a JSON object with a non-empty \"test\" list")
    out = ctx.actions.declare_directory(ctx.label.name)
    args = ctx.actions.args()
    args.add("config-base")
    args.add("--output=" + out.path)
    args.add("--os=" + ctx.attr.os)
    args.add("--architecture=" + ctx.attr.architecture)
    if ctx.attr.variant:
        args.add("--variant=" + ctx.attr.variant)
    args.add("--healthcheck=" + ctx.attr.healthcheck)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        outputs = [out],
        mnemonic = "HealthcheckBase",
        progress_message = "Writing the healthcheck base %{label}",
    )
    return [DefaultInfo(files = depset([out]))]

healthcheck_base = rule(
    doc = """A layout with no layers whose config holds a Docker/podman `Healthcheck`.

rules_oci has no healthcheck attribute, but `oci_image` inherits its base's config: give this
as `base` and the image carries the check. Kubernetes ignores it and uses the pod's probes.""",
    implementation = _healthcheck_base_impl,
    attrs = {
        "architecture": attr.string(doc = "GOARCH of the image.", mandatory = True),
        "healthcheck": attr.string(
            doc = "JSON object: test (exec-form list; [\"NONE\"] disables), interval, timeout, " +
                  "start_period, start_interval (\"30s\"), retries.",
            mandatory = True,
        ),
        "os": attr.string(doc = "GOOS of the image.", mandatory = True),
        "variant": attr.string(doc = "CPU variant, e.g. \"v8\"."),
        "_tool": attr.label(
            default = "//image_extras/private:extras",
            executable = True,
            cfg = "exec",
        ),
    },
)

_IN_ORDER = """#!/usr/bin/env bash
# Generated for {label}: runs each step with this command's arguments, stopping at a failure.
set -euo pipefail
r="${{RUNFILES_DIR:-$0.runfiles}}"
export RUNFILES_DIR="$r"
{steps}
"""

def _run_in_order_impl(ctx):
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    steps = []
    for step in ctx.attr.steps:
        path = step[DefaultInfo].files_to_run.executable.short_path
        path = path[3:] if path.startswith("../") else ctx.workspace_name + "/" + path
        steps.append('"$r/%s" "$@"' % path)
    ctx.actions.write(script, _IN_ORDER.format(label = ctx.label, steps = "\n".join(steps)), is_executable = True)
    runfiles = ctx.runfiles().merge_all([s[DefaultInfo].default_runfiles for s in ctx.attr.steps])
    return [DefaultInfo(executable = script, runfiles = runfiles)]

run_in_order = rule(
    doc = "`bazel run`: each of `steps` (executables) with the same arguments, in order, until one fails.",
    implementation = _run_in_order_impl,
    executable = True,
    attrs = {
        "steps": attr.label_list(doc = "Executable targets.", mandatory = True, cfg = "target"),
    },
)

"""Implementation of oci_push: a runner that pushes an image to a registry with push.py."""

load("//private:runner.bzl", "PYTHON_TOOLCHAIN", "write_runner")

def _oci_push_impl(ctx):
    if ctx.attr.repository and ctx.file.repository_file:
        fail("oci_push: give `repository` or `repository_file`, not both")
    if "@" in ctx.attr.repository:
        fail("oci_push: `repository` must not hold a digest, got %r" % ctx.attr.repository)

    config = ctx.actions.declare_file(ctx.label.name + ".push.json")
    args = ctx.actions.args()
    args.add(config, format = "--write-config=%s")
    inputs = []
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
        outputs = [config],
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
        prelude = 'if [[ -n "${BUILD_WORKING_DIRECTORY:-}" ]]; then cd "$BUILD_WORKING_DIRECTORY"; fi',
    )
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

"""Implementation of oci_load: an image tarball, and a runner that loads it into docker or podman."""

load("//private:runner.bzl", "PYTHON_TOOLCHAIN", "write_runner")

def _oci_load_impl(ctx):
    if ctx.attr.loader:
        fail("oci_load: `loader` (a custom load CLI) is not implemented by this kit; " +
             "`bazel run` uses docker, else podman")
    tarball = ctx.actions.declare_file(ctx.label.name + "/tarball.tar")
    args = ctx.actions.args()
    args.add("--image=" + ctx.file.image.path)
    args.add(tarball, format = "--output=%s")
    args.add(ctx.file.repo_tags, format = "--repo-tags-file=%s")
    args.add("--format=" + ctx.attr.format)
    ctx.actions.run(
        executable = ctx.executable._load_tool,
        arguments = [args],
        inputs = [ctx.file.image, ctx.file.repo_tags],
        outputs = [tarball],
        mnemonic = "OciTarball",
        progress_message = "Writing image tarball %{label}",
    )
    tool = ctx.attr._load_runner[DefaultInfo]
    runner, runfiles = write_runner(
        ctx,
        "loads the image into docker or podman on this host",
        tool,
        ctx.file._load_main,
        [("--load", tarball)],
        # ./bazelw reads this line: with no engine in its root, it loads the tarball on the host.
        prelude = "# bazelw: host-load",
    )
    return [
        DefaultInfo(executable = runner, files = depset([runner]), runfiles = runfiles),
        OutputGroupInfo(tarball = depset([tarball])),
    ]

oci_load_rule = rule(
    doc = """Writes an image tarball; `bazel run` loads it into docker, else podman.

rules_oci 2.3.2's oci_load. The default output is the runner only; the tarball is in output
group `tarball`. `format = "docker"` writes `docker save`'s layout (manifest.json with Config,
RepoTags, Layers), `"oci"` the OCI layout as one tar. `-- --engine docker|podman` (or
OCI_LOAD_ENGINE) chooses the engine, `-- --engine-arg=ARG` passes global engine options.
""",
    implementation = _oci_load_impl,
    executable = True,
    toolchains = [PYTHON_TOOLCHAIN],
    attrs = {
        "format": attr.string(
            doc = "\"docker\" (docker save's tarball) or \"oci\" (an OCI layout tar).",
            default = "docker",
            values = ["docker", "oci"],
        ),
        "image": attr.label(
            doc = "The image: an OCI layout directory (an oci_image).",
            mandatory = True,
            allow_single_file = True,
        ),
        "loader": attr.label(
            doc = "rules_oci's custom loader CLI; not implemented (an error when set).",
            executable = True,
            cfg = "target",
        ),
        "repo_tags": attr.label(
            doc = "File of tags, one a line, NAME[:TAG] (\":latest\" when no tag).",
            mandatory = True,
            allow_single_file = True,
        ),
        "_load_main": attr.label(
            doc = "Internal: load.py, which the runner runs with the Python toolchain.",
            default = Label("//oci/private:load.py"),
            allow_single_file = True,
        ),
        "_load_runner": attr.label(
            doc = "Internal: load.py as the runner's tool.",
            default = Label("//oci/private:load_tool"),
            executable = True,
            cfg = "target",
        ),
        "_load_tool": attr.label(
            doc = "Internal: load.py as a build tool.",
            default = Label("//oci/private:load_tool"),
            executable = True,
            cfg = "exec",
        ),
    },
)

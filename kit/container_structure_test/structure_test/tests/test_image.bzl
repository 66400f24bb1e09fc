"""Synthetic inputs for the rule's tests: a layout, and a docker-save tarball of it."""

def _test_image_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    ctx.actions.run(executable = ctx.executable._make, arguments = [out.path], outputs = [out])
    return [DefaultInfo(files = depset([out]))]

test_image = rule(
    doc = "A small OCI layout written by make_image.py.",
    implementation = _test_image_impl,
    attrs = {"_make": attr.label(default = ":make_image", executable = True, cfg = "exec")},
)

def _test_tarball_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + "/tarball.tar")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [ctx.file.image.path, out.path],
        inputs = [ctx.file.image],
        outputs = [out],
    )
    return [DefaultInfo(files = depset([out])), OutputGroupInfo(tarball = depset([out]))]

test_tarball = rule(
    doc = "The docker-save tarball of `image`, in output group `tarball` as oci_load has it.",
    implementation = _test_tarball_impl,
    attrs = {
        "image": attr.label(allow_single_file = True, mandatory = True),
        "_tool": attr.label(
            default = "//structure_test/private:tarball_tool",
            executable = True,
            cfg = "exec",
        ),
    },
)

"""Implementation of oci_image_index: one action running index.py (see //oci:defs.bzl)."""

_DOC = """Builds an OCI image index layout directory from one oci_image per platform.

rules_oci 2.3.2's `oci_image_index_rule`: `images` are single-platform OCI layouts (each image's
platform is read from its layout), kept in order. Outputs the directory `<name>` (its
`index.json` points at the image index) and `<name>.json.sha256` (`sha256:<index digest>` and a
newline, output group `digest`). `oci_push` pushes every image and then the index;
`oci_load(format = "oci")` writes it as one OCI archive. Identical inputs give identical bytes.
"""

def _oci_image_index_impl(ctx):
    if ctx.attr.platforms:
        fail("oci_image_index: `platforms` (building each image through a transition) is not " +
             "supported by this kit; list one oci_image per platform in `images`")
    if not ctx.files.images:
        fail("oci_image_index: `images` is empty; give one oci_image per platform")
    layout = ctx.actions.declare_directory(ctx.label.name)
    digest = ctx.actions.declare_file(ctx.label.name + ".json.sha256")
    args = ctx.actions.args()
    args.add("--output=" + layout.path)
    args.add(digest, format = "--digest-file=%s")
    args.add_all(ctx.files.images, format_each = "--image=%s", expand_directories = False)
    inputs = list(ctx.files.images)
    if ctx.file.annotations:
        args.add(ctx.file.annotations, format = "--annotations-file=%s")
        inputs.append(ctx.file.annotations)
    ctx.actions.run(
        executable = ctx.executable._index_tool,
        arguments = [args],
        inputs = inputs,
        outputs = [layout, digest],
        mnemonic = "OciImageIndex",
        progress_message = "Building OCI image index %{label}",
    )
    return [
        DefaultInfo(files = depset([layout]), runfiles = ctx.runfiles(files = [layout])),
        OutputGroupInfo(digest = depset([digest])),
    ]

oci_image_index_rule = rule(
    doc = _DOC,
    implementation = _oci_image_index_impl,
    attrs = {
        "annotations": attr.label(
            doc = "File of `KEY=VALUE` lines: annotations of the index.",
            allow_single_file = True,
        ),
        "images": attr.label_list(
            doc = "One oci_image (an OCI layout with one image) per platform, in order.",
            allow_files = True,
        ),
        "platforms": attr.label_list(
            doc = "rules_oci's transition to build each image per platform: not supported " +
                  "here (an error naming the alternative).",
        ),
        "_index_tool": attr.label(
            doc = "Internal: the index.py tool.",
            default = Label("//oci/private:index_tool"),
            executable = True,
            cfg = "exec",
        ),
    },
)

"""Implementation of oci_image: one action running image.py (see //oci:defs.bzl for the macro)."""

_DOC = """Builds an OCI image layout directory from an optional base image and tar layers.

rules_oci 2.3.2's `oci_image_rule`: config fields that are lists or dicts in the macro are files
here (`KEY=VALUE` lines; one comma-separated line). No Docker daemon is involved. Outputs the
directory `<name>` (`oci-layout`, `index.json`, `blobs/sha256/...`) and `<name>.json.sha256`
(`sha256:<manifest digest>` and a newline, output group `digest`). Identical inputs give
identical bytes.
"""

_LAYER_EXTENSIONS = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst"]

def _oci_image_impl(ctx):
    platform = [a for a in ("os", "architecture", "variant") if getattr(ctx.attr, a)]
    if ctx.attr.base and platform:
        fail("oci_image: %s must not be set together with base (the base's is inherited)" %
             ", ".join(platform))
    if not ctx.attr.base and not (ctx.attr.os and ctx.attr.architecture):
        fail("oci_image: os and architecture are mandatory when there is no base")

    layout = ctx.actions.declare_directory(ctx.label.name)
    digest = ctx.actions.declare_file(ctx.label.name + ".json.sha256")
    inputs = list(ctx.files.tars) + [ctx.file._zstd]
    args = ctx.actions.args()
    args.add("--zstd=" + ctx.file._zstd.path)
    args.add("--output=" + layout.path)
    args.add(digest, format = "--digest-file=%s")
    if ctx.file.base:
        args.add("--base=" + ctx.file.base.path)
        inputs.append(ctx.file.base)
    args.add_all(ctx.files.tars, format_each = "--tar=%s")

    # Each layer is hashed in an action of its own, so a change to one layer re-hashes only it.
    for i, tar in enumerate(ctx.files.tars):
        scan = ctx.actions.declare_file("%s_layers/%d.scan.json" % (ctx.label.name, i))
        ctx.actions.run(
            executable = ctx.executable._image_tool,
            arguments = ["scan", tar.path, scan.path, "--zstd=" + ctx.file._zstd.path],
            inputs = [tar, ctx.file._zstd],
            outputs = [scan],
            mnemonic = "OciLayerScan",
            progress_message = "Hashing layer %d of %%{label}" % (i + 1),
        )
        args.add(scan, format = "--tar-scan=%s")
        inputs.append(scan)
    for attr_name, flag in [
        ("entrypoint", "--entrypoint-file"),
        ("cmd", "--cmd-file"),
        ("env", "--env-file"),
        ("exposed_ports", "--exposed-ports-file"),
        ("volumes", "--volumes-file"),
        ("labels", "--labels-file"),
        ("annotations", "--annotations-file"),
        ("created", "--created-file"),
    ]:
        f = getattr(ctx.file, attr_name)
        if f:
            args.add(f, format = flag + "=%s")
            inputs.append(f)
    for attr_name in ("user", "workdir", "os", "architecture", "variant"):
        value = getattr(ctx.attr, attr_name)
        if value:
            args.add("--%s=%s" % (attr_name, value))

    ctx.actions.run(
        executable = ctx.executable._image_tool,
        arguments = [args],
        inputs = inputs,
        outputs = [layout, digest],
        mnemonic = "OciImage",
        progress_message = "Building OCI image %{label}",
    )
    return [
        DefaultInfo(files = depset([layout]), runfiles = ctx.runfiles(files = [layout])),
        OutputGroupInfo(digest = depset([digest])),
    ]

oci_image_rule = rule(
    doc = _DOC,
    implementation = _oci_image_impl,
    attrs = {
        "annotations": attr.label(
            doc = "File of `KEY=VALUE` lines: manifest annotations, over the base manifest's.",
            allow_single_file = True,
        ),
        "architecture": attr.string(
            doc = "GOARCH, e.g. \"amd64\"; mandatory without `base`, an error with it.",
        ),
        "base": attr.label(
            doc = "Any OCI image layout directory holding one image (an oci_image, a pulled " +
                  "image). Its layers, config and platform are inherited.",
            allow_single_file = True,
        ),
        "cmd": attr.label(
            doc = "File of one comma-separated line: the default arguments. An empty file " +
                  "clears the base's.",
            allow_single_file = True,
        ),
        "created": attr.label(
            doc = "File holding the RFC 3339 creation time. Unset: the epoch without a base, " +
                  "the base's with one.",
            allow_single_file = True,
        ),
        "entrypoint": attr.label(
            doc = "File of one comma-separated line: the entrypoint. Setting it resets the " +
                  "base's cmd.",
            allow_single_file = True,
        ),
        "env": attr.label(
            doc = "File of `KEY=VALUE` lines, applied in order; `$KEY` and `${KEY}` expand " +
                  "from the base and earlier lines, an unset one to \"\".",
            allow_single_file = True,
        ),
        "exposed_ports": attr.label(
            doc = "File of one comma-separated line: ports (\"8000\", \"8000/tcp\", " +
                  "\"53/udp\"), added to the base's.",
            allow_single_file = True,
        ),
        "labels": attr.label(
            doc = "File of `KEY=VALUE` lines: config labels, merged over the base's.",
            allow_single_file = True,
        ),
        "os": attr.string(doc = "GOOS, e.g. \"linux\"; mandatory without `base`, an error with it."),
        "resource_set": attr.string(
            doc = "rules_oci's scheduling hint for the action; accepted and not used.",
            default = "default",
        ),
        "tars": attr.label_list(
            doc = "Layers, in order, least-changing first: .tar (stays an uncompressed " +
                  "layer), .tar.gz/.tgz and .tar.zst/.tzst (used as they are; a zstd layer's " +
                  "diff_id is read through the zstd program).",
            allow_files = _LAYER_EXTENSIONS,
        ),
        "user": attr.string(doc = "User to run as: NAME, UID or UID:GID, e.g. \"65532:65532\"."),
        "variant": attr.string(doc = "CPU variant, e.g. \"v8\" for arm64; an error with `base`."),
        "volumes": attr.label(
            doc = "File of one comma-separated line: absolute paths, added to the base's.",
            allow_single_file = True,
        ),
        "workdir": attr.string(doc = "Absolute working directory."),
        "_zstd": attr.label(
            doc = "Internal: the zstd program (diff_ids of zstd layers; run only for them).",
            default = Label("@zstd//:zstd"),
            allow_single_file = True,
            cfg = "exec",
        ),
        "_image_tool": attr.label(
            doc = "Internal: the image.py tool.",
            default = Label("//oci/private:image_tool"),
            executable = True,
            cfg = "exec",
        ),
    },
)

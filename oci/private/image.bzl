"""Implementation of oci_image: one action running image.py (see //oci:defs.bzl for the macro)."""

load(":providers.bzl", "OciImageInfo")
load(":stamp.bzl", "STAMP_ATTRS", "stamp_files")

_CLEARABLE = ("entrypoint", "cmd")

_DOC = """Builds an OCI image layout directory from an optional base image and tar layers.

No Docker daemon is involved. Outputs the directory `<name>` (`oci-layout`, `index.json`,
`blobs/sha256/...`) and `<name>.digest` (`sha256:<manifest digest>`, output group `digest`). The
action prints the digest and each layer's uncompressed and compressed size. Identical inputs give
identical bytes: `created` defaults to 1970-01-01T00:00:00Z and all JSON is canonical.

Use the `oci_image` macro from `//oci:defs.bzl`, which also accepts lists for dict attributes.
"""

def _kv(mapping):
    return ["%s=%s" % (key, value) for key, value in mapping.items()]

def _oci_image_impl(ctx):
    for field in ctx.attr.clear:
        if field not in _CLEARABLE:
            fail("clear: unknown field %r; expected one of %s" % (field, _CLEARABLE))
    layout = ctx.actions.declare_directory(ctx.label.name)
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    inputs = list(ctx.files.tars)

    args = ctx.actions.args()
    args.add("--output=" + layout.path)
    args.add(digest, format = "--digest-file=%s")
    if ctx.attr.base:
        base = ctx.attr.base[OciImageInfo]
        args.add("--base=" + base.layout.path)
        inputs.append(base.layout)
    args.add_all(ctx.files.tars, format_each = "--tar=%s")
    if ctx.attr.entrypoint or "entrypoint" in ctx.attr.clear:
        args.add("--entrypoint=" + json.encode(ctx.attr.entrypoint))
    if ctx.attr.cmd or "cmd" in ctx.attr.clear:
        args.add("--cmd=" + json.encode(ctx.attr.cmd))
    args.add_all(_kv(ctx.attr.env), format_each = "--env=%s")
    if ctx.attr.user:
        args.add("--user=" + ctx.attr.user)
    if ctx.attr.workdir:
        args.add("--workdir=" + ctx.attr.workdir)
    args.add_all(ctx.attr.exposed_ports, format_each = "--exposed-port=%s")
    args.add_all(ctx.attr.volumes, format_each = "--volume=%s")
    args.add_all(_kv(ctx.attr.labels), format_each = "--label=%s")
    args.add_all(_kv(ctx.attr.annotations), format_each = "--annotation=%s")
    for flag in ("os", "architecture", "variant", "created", "healthcheck"):
        value = getattr(ctx.attr, flag)
        if value:
            args.add("--%s=%s" % (flag, value))
    stamps = stamp_files(ctx)
    args.add_all(stamps, format_each = "--stamp-file=%s")
    inputs.extend(stamps)

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
        OciImageInfo(layout = layout, digest = digest),
        OutputGroupInfo(digest = depset([digest])),
    ]

oci_image_rule = rule(
    doc = _DOC,
    implementation = _oci_image_impl,
    attrs = dict({
        "base": attr.label(
            doc = "Base image (another oci_image): its layers, config and platform are inherited.",
            providers = [OciImageInfo],
        ),
        "tars": attr.label_list(
            doc = "Layers on top of the base, in order (least-changing first): .tar, .tar.gz or " +
                  ".tgz files. Plain tars are gzipped reproducibly.",
            allow_files = [".tar", ".tar.gz", ".tgz"],
        ),
        "entrypoint": attr.string_list(
            doc = "Exec-form entrypoint. Setting it drops the base's cmd (as rules_oci does).",
        ),
        "cmd": attr.string_list(doc = "Default arguments to the entrypoint."),
        "clear": attr.string_list(
            doc = "Fields to clear from the base even though empty here: 'entrypoint' (also " +
                  "drops cmd) and/or 'cmd'. The oci_image macro sets this for `= []`.",
        ),
        "env": attr.string_dict(
            doc = "Environment variables, applied in order over the base's. Values may use " +
                  "`$KEY` / `${KEY}` of the base or of earlier entries (unset: empty); `$$` is " +
                  "a literal `$`. E.g. {\"PATH\": \"/opt/venv/bin:$PATH\"}.",
        ),
        "user": attr.string(doc = "User to run as: NAME, UID or UID:GID, e.g. \"65532:65532\"."),
        "workdir": attr.string(doc = "Absolute working directory."),
        "exposed_ports": attr.string_list(
            doc = "Ports to expose: \"8000\" (TCP), \"8000/tcp\", \"53/udp\". Added to the base's.",
        ),
        "volumes": attr.string_list(doc = "Absolute paths to mark as volumes, added to the base's."),
        "labels": attr.string_dict(
            doc = "Config labels, merged over the base's. Values may hold stamp placeholders " +
                  "`{KEY}` / `{KEY:-default}` (see `stamp`).",
        ),
        "annotations": attr.string_dict(
            doc = "Manifest annotations (not inherited; the base's digest is recorded as " +
                  "org.opencontainers.image.base.digest). Values may hold stamp placeholders.",
        ),
        "os": attr.string(doc = "GOOS value; default: the base's, else \"linux\"."),
        "architecture": attr.string(doc = "GOARCH value; default: the base's, else \"amd64\"."),
        "variant": attr.string(doc = "CPU variant, e.g. \"v8\" for arm64; default: the base's."),
        "created": attr.string(
            doc = "RFC 3339 creation time; default 1970-01-01T00:00:00Z for reproducibility. " +
                  "\"{BUILD_TIMESTAMP}\" takes the build time when stamped (epoch otherwise).",
        ),
        "healthcheck": attr.string(
            doc = "JSON object for the Docker/podman `Healthcheck`: test (exec-form list), " +
                  "interval, timeout, start_period, start_interval (\"30s\"), retries. " +
                  "Kubernetes ignores it and uses the pod's probes.",
        ),
        "_image_tool": attr.label(
            doc = "Internal: the image.py tool.",
            default = Label("//oci/private:image_tool"),
            executable = True,
            cfg = "exec",
        ),
    }, **STAMP_ATTRS),
)

"""A JSON file of stamp values that an app can read at run time (e.g. for GET /version)."""

load("//image_extras:stamp.bzl", "STAMP_ATTRS", "stamp_files")

def _build_info_impl(ctx):
    out = ctx.actions.declare_file(ctx.attr.out)
    stamps = stamp_files(ctx)
    args = ctx.actions.args()
    args.add("--output", out)
    args.add_all(["{}={}".format(k, v) for k, v in sorted(ctx.attr.values.items())], before_each = "--value")
    args.add_all(stamps, format_each = "--stamp-file=%s")
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = stamps,
        outputs = [out],
        mnemonic = "BuildInfo",
        progress_message = "Writing build info %{label}",
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles([out]))]

build_info = rule(
    doc = """Writes `out` as a JSON object of stamped values.

With stamping (see `stamp`) each key gets its template with `{KEY}` placeholders replaced from
the workspace status; unstamped, the object is empty so the output never varies.""",
    implementation = _build_info_impl,
    attrs = dict(STAMP_ATTRS, **{
        "out": attr.string(doc = "Output file name, e.g. build_info.json.", mandatory = True),
        "values": attr.string_dict(
            doc = "Key -> template, e.g. {\"revision\": \"{STABLE_GIT_REVISION}\"}.",
        ),
        "_tool": attr.label(
            default = "//pyimage/private:build_info",
            executable = True,
            cfg = "exec",
        ),
    }),
)

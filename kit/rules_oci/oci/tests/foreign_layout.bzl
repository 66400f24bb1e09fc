"""`foreign_layout`: an OCI layout directory written without any oci_* rule (see make_layout.py)."""

def _foreign_layout_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [out.path, ctx.file.layer.path],
        inputs = [ctx.file.layer],
        outputs = [out],
        mnemonic = "ForeignLayout",
    )
    return [DefaultInfo(files = depset([out]))]

foreign_layout = rule(
    doc = "A layout as another tool (crane, skopeo) would leave it, for the any-base contract test.",
    implementation = _foreign_layout_impl,
    attrs = {
        "layer": attr.label(doc = "The one layer.", allow_single_file = True, mandatory = True),
        "_tool": attr.label(default = ":make_layout", executable = True, cfg = "exec"),
    },
)

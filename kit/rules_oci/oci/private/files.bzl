"""The file forms rules_oci's macros write for list and dict attributes.

rules_oci's raw rules take files: `KEY=VALUE` lines for env, labels and annotations, one
comma-separated line for entrypoint, cmd, exposed_ports and volumes, one item a line for tags.
The macros accept lists and dicts and write them with `value_file`, which checks them at
analysis time (so its errors are testable with analysistest).
"""

def _value_file_impl(ctx):
    what = ctx.attr.what
    if ctx.attr.kind == "pairs":
        lines = []
        for key, val in ctx.attr.pairs.items():
            if not key or "=" in key or "\n" in key:
                fail("%s: bad key %r (it must be non-empty, without '=' or a newline)" % (what, key))
            if "\n" in val:
                fail("%s: the value of %r holds a newline" % (what, key))
            lines.append("%s=%s" % (key, val))
        content = "\n".join(lines) + ("\n" if lines else "")
    else:
        sep = "," if ctx.attr.kind == "list" else "\n"
        for item in ctx.attr.items:
            if sep in item or "\n" in item:
                fail("%s: %r holds %r, which rules_oci's file form cannot carry" % (what, item, sep))
        content = sep.join(ctx.attr.items) + ("\n" if ctx.attr.items else "")
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.write(out, content)
    return [DefaultInfo(files = depset([out]))]

value_file = rule(
    doc = "Writes a list or dict in rules_oci's file form to `<name>.txt`.",
    implementation = _value_file_impl,
    attrs = {
        "items": attr.string_list(doc = "For kind \"list\" and \"lines\"."),
        "kind": attr.string(
            doc = "\"pairs\" (KEY=VALUE lines), \"list\" (one comma-separated line), \"lines\".",
            mandatory = True,
            values = ["pairs", "list", "lines"],
        ),
        "pairs": attr.string_dict(doc = "For kind \"pairs\"."),
        "what": attr.string(doc = "The attribute's name, for error messages.", mandatory = True),
    },
)

def as_file(name, what, value, kind, **kwargs):
    """Return a label for `value`: itself if it is a label string, else a written file.

    Args:
      name: Target name for the written file.
      what: Attribute name, for error messages.
      value: None, a label string, a list (kind "list" or "lines") or a dict (kind "pairs").
      kind: "pairs", "list" or "lines".
      **kwargs: tags, testonly, visibility for the written file.

    Returns:
      A label string or None.
    """
    if value == None:
        return None
    if type(value) == "string":
        return value
    if kind == "pairs":
        value_file(name = name, what = what, kind = kind, pairs = value, **kwargs)
    else:
        value_file(name = name, what = what, kind = kind, items = value, **kwargs)
    return ":" + name

"""Stamping for rules beside rules_oci: whether a rule reads Bazel's workspace status files.

Like the `stamp` attribute of rules_go: 1 always stamps, 0 never does, -1 (the
default) follows the `--stamp` flag, detected through a config_setting because Starlark rules cannot
read that flag directly. Unstamped builds never depend on the status files, so they stay
reproducible and cacheable.
"""

StampSettingInfo = provider(
    doc = "Whether --stamp is set in the current configuration.",
    fields = {"value": "bool: True when building with --stamp."},
)

def _stamp_setting_impl(ctx):
    return [StampSettingInfo(value = ctx.attr.value)]

stamp_setting = rule(
    doc = "Carries the result of a select() on --stamp as a provider (see //image_extras/private:stamp).",
    implementation = _stamp_setting_impl,
    attrs = {
        "value": attr.bool(
            doc = "Whether stamping is on; set it with select() over a config_setting on stamp.",
            mandatory = True,
        ),
    },
)

STAMP_ATTRS = {
    "stamp": attr.int(
        doc = """Whether to replace `{KEY}` placeholders with workspace status values.

        1: always; 0: never (placeholders get their `{KEY:-default}` or "unknown"); -1 (default):
        only when building with `--stamp`. Keys come from `--workspace_status_command`
        (e.g. `{STABLE_GIT_REVISION}`) or Bazel's own (`{BUILD_USER}`, `{BUILD_TIMESTAMP}`).""",
        default = -1,
        values = [1, 0, -1],
    ),
    "_stamp_setting": attr.label(
        doc = "Internal: whether --stamp is set.",
        default = Label("//image_extras/private:stamp"),
        providers = [StampSettingInfo],
    ),
}

def stamp_files(ctx):
    """Return the status files to read ([] when not stamping).

    Args:
      ctx: the rule context of a rule with STAMP_ATTRS.

    Returns:
      A list of Files: the stable then the volatile status file, or [].
    """
    stamp = ctx.attr.stamp
    if stamp == 1 or (stamp == -1 and ctx.attr._stamp_setting[StampSettingInfo].value):
        return [ctx.info_file, ctx.version_file]
    return []

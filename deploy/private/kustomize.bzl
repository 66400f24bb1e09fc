"""Implementation of kustomize_build: render a kustomization with the image pinned by digest."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")

def _relative(ctx, file):
    """Path of `file` relative to this package: where kustomize expects it."""
    prefix = ctx.label.package + "/" if ctx.label.package else ""
    if ctx.label.workspace_root or not file.short_path.startswith(prefix):
        fail("srcs: {} is outside package {}; kustomize only reads files under it".format(
            file.short_path,
            ctx.label.package,
        ))
    return file.short_path[len(prefix):]

def _kustomize_build_impl(ctx):
    repository = ctx.attr.repository[BuildSettingInfo].value
    output = ctx.actions.declare_file(ctx.label.name + ".yaml")
    args = ctx.actions.args()
    args.add("--kustomize", ctx.executable.kustomize)
    args.add("--overlay", ctx.attr.overlay)
    args.add("--image-name", ctx.attr.image_name)
    args.add("--repository", repository)
    args.add("--digest-file", ctx.file.image_digest)
    args.add("--output", output)
    for src in ctx.files.srcs:
        args.add("--src", "{}={}".format(src.path, _relative(ctx, src)))
    ctx.actions.run(
        executable = ctx.executable._render,
        arguments = [args],
        inputs = ctx.files.srcs + [ctx.file.image_digest],
        tools = [ctx.executable.kustomize],
        outputs = [output],
        mnemonic = "KustomizeBuild",
        progress_message = "Rendering %{label} with kustomize",
    )
    return [DefaultInfo(files = depset([output]))]

kustomize_build = rule(
    doc = """Renders a kustomization into one YAML file, with the image pinned by digest.

`kustomize build <overlay>` runs on a copy of `srcs` in which a generated kustomization adds an
`images:` entry: every container whose `image` is `image_name` gets
`<repository>@sha256:<digest of image>`. The build fails if no container uses `image_name`, so a
renamed image cannot slip through unpinned. Output: `<name>.yaml`.
""",
    implementation = _kustomize_build_impl,
    attrs = {
        "image_digest": attr.label(
            doc = "The `<image>.digest` target of the oci_image whose manifest digest pins " +
                  "the containers' image (rules_oci's `sha256:...` file).",
            mandatory = True,
            allow_single_file = True,
        ),
        "image_name": attr.string(
            doc = "The `image` value in the manifests to replace, e.g. `fastapi-oci`.",
            mandatory = True,
        ),
        "kustomize": attr.label(
            doc = "The kustomize program (v5).",
            default = "@kustomize",
            allow_single_file = True,
            executable = True,
            cfg = "exec",
        ),
        "overlay": attr.string(
            doc = "Directory of the kustomization to build, relative to this package, e.g. `overlays/dev`.",
            mandatory = True,
        ),
        "repository": attr.label(
            doc = "A string build setting holding the image repository, e.g. `localhost:5000/app` " +
                  "(no tag, no digest); `--//pkg:setting=...` changes it per build.",
            mandatory = True,
            providers = [BuildSettingInfo],
        ),
        "srcs": attr.label_list(
            doc = "Every file kustomize reads (kustomization.yaml files, resources, generator inputs), " +
                  "all in this package.",
            allow_files = True,
            mandatory = True,
        ),
        "_render": attr.label(
            default = "//deploy/private:render",
            executable = True,
            cfg = "exec",
        ),
    },
)

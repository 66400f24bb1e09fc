"""cosign_sign and cosign_attest: `bazel run` runners over cosign/private/cosign.py."""

load("//private:runner.bzl", "PYTHON_TOOLCHAIN", "write_runner")

def _cosign_impl(ctx, mode):
    files = [("--cosign", ctx.file._cosign), ("--image", ctx.file.image)]
    flags = ["--mode", mode, "--default-repository", ctx.attr.repository]
    if mode == "attest":
        if not ctx.attr.type:
            fail("cosign_attest: `type` is mandatory (e.g. \"cyclonedx\", \"spdxjson\", \"slsaprovenance\")")
        flags += ["--type", ctx.attr.type]
        files.append(("--predicate", ctx.file.predicate))
    runner, runfiles = write_runner(
        ctx,
        "cosign %s of %s" % (mode, ctx.label),
        ctx.attr._tool[DefaultInfo],
        ctx.file._main,
        files,
        flags = flags,
    )
    return [DefaultInfo(executable = runner, files = depset([runner]), runfiles = runfiles)]

_COMMON = {
    "image": attr.label(
        doc = "The pushed image or index (an OCI layout): its digest is what is signed.",
        mandatory = True,
        allow_single_file = True,
    ),
    "repository": attr.string(
        doc = "HOST[:PORT]/NAME it was pushed to; `-r` replaces it at run time.",
    ),
    "_cosign": attr.label(
        default = "@cosign//:cosign",
        allow_single_file = True,
        cfg = "target",
    ),
    "_main": attr.label(
        default = Label("//cosign/private:cosign.py"),
        allow_single_file = True,
    ),
    "_tool": attr.label(
        default = Label("//cosign/private:cosign_tool"),
        executable = True,
        cfg = "target",
    ),
}

cosign_sign = rule(
    doc = """`bazel run :<name> -- [-r REPO] [--key FILE] [--no-tlog] [cosign flags]`: signs the
image's (or index's, recursively) digest in REPO with cosign.""",
    implementation = lambda ctx: _cosign_impl(ctx, "sign"),
    executable = True,
    toolchains = [PYTHON_TOOLCHAIN],
    attrs = _COMMON,
)

cosign_attest = rule(
    doc = """`bazel run :<name> -- [-r REPO] [--key FILE] [--no-tlog]`: attaches `predicate` as
an in-toto attestation of `type` to the image's digest in REPO.""",
    implementation = lambda ctx: _cosign_impl(ctx, "attest"),
    executable = True,
    toolchains = [PYTHON_TOOLCHAIN],
    attrs = dict(_COMMON, **{
        "predicate": attr.label(
            doc = "The predicate file, e.g. a CycloneDX SBOM.",
            mandatory = True,
            allow_single_file = True,
        ),
        "type": attr.string(doc = "Predicate type: cyclonedx, spdxjson, slsaprovenance, ... (mandatory)."),
    }),
)

"""Implementation of image_sbom: a CycloneDX 1.6 JSON SBOM of an oci_image."""

def _image_sbom_impl(ctx):
    image = ctx.file.image
    out = ctx.actions.declare_file(ctx.label.name + ".cdx.json")
    wheels = ctx.files.wheels
    args = ctx.actions.args()
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    args.add("--image", image.path)
    args.add("--debian-lock", ctx.file.debian_lock)
    args.add("--requirements-lock", ctx.file.requirements_lock)
    args.add_all(wheels, before_each = "--wheel")
    if ctx.attr.image_name:
        args.add("--name", ctx.attr.image_name)
    if ctx.attr.repository:
        args.add("--repository", ctx.attr.repository)
    extra = []
    if ctx.file.uv_lock:
        args.add("--uv-lock", ctx.file.uv_lock)
        extra.append(ctx.file.uv_lock)
    args.add("--output", out)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = [image, ctx.file.debian_lock, ctx.file.requirements_lock, ctx.file._zstd] + wheels + extra,
        # zstd layers are read through the zstd program.
        env = {"KIT_ZSTD": ctx.file._zstd.path},
        outputs = [out],
        mnemonic = "ImageSbom",
        progress_message = "Writing the CycloneDX SBOM of %{label}",
    )
    return [DefaultInfo(files = depset([out]))]

image_sbom_rule = rule(
    doc = """Writes `<name>.cdx.json`, a CycloneDX 1.6 JSON SBOM of an oci_image.

Lists what the image's layers really hold: every Debian package recorded under
/var/lib/dpkg/status.d (or /var/lib/dpkg/status), as `pkg:deb/<os>/<name>@<version>?arch=..&distro=..`
hashed by the .deb that `debian_lock` pins, and every `*.dist-info` under a site-packages folder,
as `pkg:pypi/<name>@<version>` hashed by its wheel (one of `wheels` whose METADATA matches and
whose hash `requirements_lock` lists), plus the OS from /etc/os-release. The image is
metadata.component (type container, `pkg:oci/<name>@sha256:..`). A package in the image that a
lock does not list, or lists at another version, fails the build. The same image gives the same
bytes: the timestamp is the image's `created` and the serial number a uuid5 of its digest.""",
    implementation = _image_sbom_impl,
    attrs = {
        "debian_lock": attr.label(
            doc = "The Debian lock the base layer was built from: a JSON list of " +
                  "{name, version, arch, sha256, ...} (//distroless:packages.lock.json).",
            allow_single_file = [".json"],
            mandatory = True,
        ),
        "image": attr.label(
            doc = "The image to describe: an OCI layout directory (an oci_image).",
            allow_single_file = True,
            mandatory = True,
        ),
        "image_name": attr.string(
            doc = "Name of the image component and its purl; default: the manifest's " +
                  "org.opencontainers.image.title annotation, else \"image\".",
        ),
        "repository": attr.string(
            doc = "Optional repository the image is pushed to (e.g. \"registry.example/team/app\"); " +
                  "becomes the repository_url qualifier of the image's purl.",
        ),
        "requirements_lock": attr.label(
            doc = "The hash-pinned requirements lock the venv was installed from.",
            allow_single_file = True,
            mandatory = True,
        ),
        "uv_lock": attr.label(
            doc = "Optional uv_workspace.lock.json (@fastapi_kit//uv:lock): a package with no " +
                  "published wheel is then hashed by its locked sdist, and its sbom:hash-source " +
                  "says the wheel was built locally (with that wheel's own sha256).",
            allow_single_file = [".json"],
        ),
        "wheels": attr.label_list(
            doc = "Wheels rules_python installed from (whl_requirement targets). Each Python " +
                  "distribution is hashed by its wheel; without one, all hashes locked for its " +
                  "version are listed and its sbom:hash-source property says so.",
            allow_files = [".whl"],
        ),
        "_zstd": attr.label(
            default = "@zstd//:zstd",
            allow_single_file = True,
            cfg = "exec",
        ),
        "_tool": attr.label(
            default = "//sbom/private:bom",
            executable = True,
            cfg = "exec",
        ),
    },
)

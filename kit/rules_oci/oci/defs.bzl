"""OCI image rules with rules_oci 2.3.2's public API: oci_image, oci_image_index, oci_load, oci_push.

rules_oci cannot be fetched on this project's machines, so this module (named `rules_oci`) is
the kit's own implementation of that contract, on standard-library Python tools: no Docker
daemon, no crane or jq. A BUILD file written for rules_oci builds here unchanged, and a
MODULE.bazel that drops the kit's `local_path_override` for `rules_oci` gets the real one.

Images pass between rules as OCI layout directories (no provider), so any layout can be a base.

Example:

    load("@rules_oci//oci:defs.bzl", "oci_image", "oci_load", "oci_push")

    oci_image(
        name = "image",
        os = "linux",
        architecture = "amd64",
        tars = [":rootfs.tar", ":app.tar.gz"],
        entrypoint = ["/usr/bin/python3", "/app/main.py"],
        env = {"PATH": "/opt/venv/bin:$PATH"},
        labels = ":labels.txt",       # KEY=VALUE lines, e.g. stamped with expand_template
    )

    oci_load(name = "load", image = ":image", repo_tags = ["app:latest"])

    oci_push(
        name = "push",
        image = ":image",
        repository = "registry.example.com/team/app",
        remote_tags = ["latest"],
    )

    oci_image_index(name = "index", images = [":image", ":image_arm64"])

Not implemented (each fails with one line): oci_image_index's `platforms` transition,
oci_load's `loader`, oci_push's `--platform` and crane's own flags.
"""

load("//oci/private:files.bzl", "as_file")
load("//oci/private:image.bzl", _oci_image_rule = "oci_image_rule")
load("//oci/private:index.bzl", _oci_image_index_rule = "oci_image_index_rule")
load("//oci/private:load.bzl", _oci_load_rule = "oci_load_rule")
load("//oci/private:push.bzl", _oci_push_rule = "oci_push_rule")

oci_image_rule = _oci_image_rule
oci_image_index_rule = _oci_image_index_rule
oci_push_rule = _oci_push_rule
oci_tarball_rule = _oci_load_rule

def _file_kwargs(kwargs):
    return {k: kwargs.get(k) for k in ("tags", "testonly", "visibility") if k in kwargs}

def oci_image(
        name,
        entrypoint = None,
        cmd = None,
        env = None,
        labels = None,
        annotations = None,
        exposed_ports = None,
        volumes = None,
        **kwargs):
    """Builds an OCI image layout directory `<name>`, plus the `<name>.digest` target.

    Lists and dicts are written to files and passed to `oci_image_rule`, whose attributes
    document each field; a label is passed as it is. `:<name>.digest` gives
    `<name>.json.sha256` (`sha256:<manifest digest>` and a newline).

    Args:
      name: Target name; also the name of the output directory.
      entrypoint: List or file label. Setting it (even to []) resets the base's cmd.
      cmd: List or file label. [] clears the base's.
      env: Dict or file label of `KEY=VALUE` lines; values expand `$KEY`/`${KEY}`.
      labels: Dict or file label; merged over the base's labels.
      annotations: Dict or file label; merged over the base manifest's annotations.
      exposed_ports: List or file label, e.g. ["8000/tcp"]; added to the base's.
      volumes: List or file label of absolute paths; added to the base's.
      **kwargs: The other attributes of `oci_image_rule` (base, tars, user, workdir, os,
        architecture, variant, created, resource_set) and common ones.
    """
    files = _file_kwargs(kwargs)
    _oci_image_rule(
        name = name,
        entrypoint = as_file(name + "_entrypoint", "entrypoint", entrypoint, "list", **files),
        cmd = as_file(name + "_cmd", "cmd", cmd, "list", **files),
        env = as_file(name + "_env", "env", env, "pairs", **files),
        labels = as_file(name + "_labels", "labels", labels, "pairs", **files),
        annotations = as_file(name + "_annotations", "annotations", annotations, "pairs", **files),
        exposed_ports = as_file(name + "_exposed_ports", "exposed_ports", exposed_ports, "list", **files),
        volumes = as_file(name + "_volumes", "volumes", volumes, "list", **files),
        **kwargs
    )
    native.filegroup(
        name = name + ".digest",
        srcs = [name],
        output_group = "digest",
        **files
    )

def oci_image_index(name, images, annotations = None, **kwargs):
    """An image index of one oci_image per platform, plus the `<name>.digest` target.

    Args:
      name: Target name; also the name of the output directory.
      images: Labels of oci_image targets, one per platform (two of one platform fail).
      annotations: Dict or file label: annotations of the index.
      **kwargs: `platforms` (not supported: fails naming the alternative) and common attributes.
    """
    files = _file_kwargs(kwargs)
    _oci_image_index_rule(
        name = name,
        images = images,
        annotations = as_file(name + "_annotations", "annotations", annotations, "pairs", **files),
        **kwargs
    )
    native.filegroup(
        name = name + ".digest",
        srcs = [name],
        output_group = "digest",
        **files
    )

def oci_load(name, image, repo_tags, **kwargs):
    """A tarball of `image` for docker/podman; `bazel run :<name>` loads it (see oci_tarball_rule).

    Args:
      name: Target name.
      image: The oci_image (any OCI layout directory).
      repo_tags: List of NAME[:TAG], or the label of a file of them, one a line. Mandatory.
      **kwargs: `format` ("docker" or "oci"), `loader` (not implemented) and common attributes.
    """
    files = _file_kwargs(kwargs)
    _oci_load_rule(
        name = name,
        image = image,
        repo_tags = as_file(name + "_repo_tags", "repo_tags", repo_tags, "lines", **files),
        **kwargs
    )

def oci_push(name, image, repository = None, repository_file = None, remote_tags = None, **kwargs):
    """Pushes an image to a registry with `bazel run`, as rules_oci's oci_push does.

    The image is pushed by digest first (every blob the registry lacks, then the manifest), and
    only then are the tags pointed at it, so a failed push never leaves a tag on a half-pushed
    image. On success the runner prints `HOST/NAME@sha256:...`.

    Run-time flags (after `--`): `-r/--repository HOST[:PORT]/NAME` replaces `repository`;
    `-t/--tag TAG` (repeatable) adds to `remote_tags`; `--insecure` uses plain HTTP, for
    localhost/127.0.0.1 registries only; `--authfile FILE`; `--chunked` / `--chunk-size BYTES`;
    `--retries N`; `--retry-delay SECONDS`.

    Credentials come from where `docker login` and `podman login` put them: `--authfile`,
    `$REGISTRY_AUTH_FILE`, `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`), then
    podman's `auth.json` files; `auths` entries and `credHelpers`/`credsStore` helpers are used.

    Args:
      name: Target name; `bazel run :<name>` pushes.
      image: The oci_image to push.
      repository: HOST[:PORT]/NAME, no tag or digest. May be left out and given with `-r`.
      repository_file: Label of a file holding the repository, instead of `repository`.
      remote_tags: A list of tags, or the label of a file of tags, one a line.
      **kwargs: Common attributes (visibility, tags, testonly, ...).
    """
    files = _file_kwargs(kwargs)
    _oci_push_rule(
        name = name,
        image = image,
        repository = repository or "",
        repository_file = repository_file,
        remote_tags = as_file(name + "_remote_tags", "remote_tags", remote_tags, "lines", **files),
        **kwargs
    )

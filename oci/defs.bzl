"""OCI image rules with the API of rules_oci: oci_image, oci_load and oci_push.

rules_oci cannot be fetched on this project's machines, so these are the project's own, built on
standard-library Python tools: no Docker daemon, no crane or jq; only oci_push talks to a
registry, and only when run. Attribute names and semantics follow rules_oci (layer order, `$KEY`
in env, entrypoint resetting cmd, an epoch `created`, push by digest then tags), so moving to
rules_oci later is a change of load statements.

Example:

    load("//oci:defs.bzl", "oci_image", "oci_load", "oci_push")

    oci_image(
        name = "image",
        base = "//base:python",
        tars = [":site_packages_layer", ":app_layer"],
        entrypoint = ["/usr/bin/python3.13", "-m", "app"],
        env = {"PATH": "/opt/venv/bin:$PATH"},
        user = "65532:65532",
        exposed_ports = ["8000/tcp"],
        labels = {"org.opencontainers.image.revision": "{STABLE_GIT_REVISION}"},
    )

    oci_load(
        name = "load",
        image = ":image",
        repo_tags = ["fastapi-app:latest"],
    )

    oci_push(
        name = "push",
        image = ":image",
        repository = "registry.example.com/team/fastapi-app",
        remote_tags = ["latest"],
    )
"""

load("//oci/private:image.bzl", "oci_image_rule")
load("//oci/private:load.bzl", _oci_load = "oci_load")
load("//oci/private:providers.bzl", _OciImageInfo = "OciImageInfo")
load("//oci/private:push.bzl", _oci_push = "oci_push")

OciImageInfo = _OciImageInfo
oci_load = _oci_load
oci_push = _oci_push

def _to_dict(value, what):
    """Accept a dict, a list of "KEY=VALUE" strings, or a select() (passed through)."""
    if value == None:
        return {}
    if type(value) == "list":
        result = {}
        for item in value:
            key, sep, val = item.partition("=")
            if not sep or not key:
                fail("%s: expected \"KEY=VALUE\", got %r" % (what, item))
            if key in result:
                fail("%s: %r given twice" % (what, key))
            result[key] = val
        return result
    return value

def oci_image(
        name,
        base = None,
        tars = [],
        entrypoint = None,
        cmd = None,
        env = None,
        user = None,
        workdir = None,
        exposed_ports = [],
        volumes = [],
        labels = None,
        annotations = None,
        os = None,
        architecture = None,
        variant = None,
        created = None,
        healthcheck = None,
        stamp = -1,
        **kwargs):
    """Builds an OCI image layout directory `<name>`, plus `<name>.digest`.

    Building prints the manifest digest and each layer's uncompressed and compressed size.
    `:<name>.digest` is a target for the file holding `sha256:<manifest digest>`.

    Args:
      name: Target name; also the name of the output directory.
      base: Label of another oci_image to build on. Its layers, config (env, labels, user, ...)
        and platform are inherited. Without it the image starts from scratch.
      tars: Layers (.tar, .tar.gz, .tgz), in order, least-changing first.
      entrypoint: Exec-form list. Setting it (even to []) drops the base's cmd, like rules_oci.
        None (default) keeps the base's entrypoint.
      cmd: Exec-form list of default arguments. [] clears the base's; None keeps it.
      env: Dict (or list of "KEY=VALUE") of environment variables, applied in order. Values may
        reference the base's variables (or earlier ones here) as $KEY or ${KEY}; unset ones
        expand to ""; `$$` is a literal `$`. E.g. {"PATH": "/opt/venv/bin:$PATH"}.
      user: NAME, UID or UID:GID to run as, e.g. "65532:65532".
      workdir: Absolute working directory.
      exposed_ports: e.g. ["8000/tcp"] ("8000" means TCP). Added to the base's.
      volumes: Absolute paths, added to the base's.
      labels: Dict (or "KEY=VALUE" list) of config labels, merged over the base's. Values may
        hold `{KEY}` or `{KEY:-default}`, replaced from workspace status when stamping and by
        the default (or "unknown") otherwise.
      annotations: Dict (or "KEY=VALUE" list) of manifest annotations; stamped like labels.
      os: GOOS name; default the base's, else "linux".
      architecture: GOARCH name; default the base's, else "amd64".
      variant: CPU variant, e.g. "v8" for arm64.
      created: RFC 3339 time; default 1970-01-01T00:00:00Z. "{BUILD_TIMESTAMP}" gives the build
        time when stamping, the epoch otherwise.
      healthcheck: Dict for the Docker/podman HEALTHCHECK: "test" (exec-form list, no shell),
        "interval", "timeout", "start_period", "start_interval" (durations like "30s"),
        "retries" (int). {"test": ["NONE"]} disables the base's. Kubernetes ignores it and uses
        the pod's liveness/readiness probes instead.
      stamp: 1 always stamp, 0 never, -1 (default) follow --stamp.
      **kwargs: Common attributes (visibility, tags, testonly, ...).
    """
    clear = []
    if entrypoint != None and not entrypoint:
        clear.append("entrypoint")
    if cmd != None and not cmd:
        clear.append("cmd")
    if type(healthcheck) == "dict":
        healthcheck = json.encode(healthcheck)
    oci_image_rule(
        name = name,
        base = base,
        tars = tars,
        entrypoint = entrypoint or [],
        cmd = cmd or [],
        clear = clear,
        env = _to_dict(env, "env"),
        user = user,
        workdir = workdir,
        exposed_ports = exposed_ports,
        volumes = volumes,
        labels = _to_dict(labels, "labels"),
        annotations = _to_dict(annotations, "annotations"),
        os = os,
        architecture = architecture,
        variant = variant,
        created = created,
        healthcheck = healthcheck,
        stamp = stamp,
        **kwargs
    )
    native.filegroup(
        name = name + ".digest",
        srcs = [name],
        output_group = "digest",
        tags = kwargs.get("tags"),
        testonly = kwargs.get("testonly"),
        visibility = kwargs.get("visibility"),
    )

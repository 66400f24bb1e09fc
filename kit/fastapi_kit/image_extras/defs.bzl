"""The kit's extras beside rules_oci's API: inline stamping and a healthcheck base.

    load("@fastapi_kit//image_extras:defs.bzl", "healthcheck_base", "stamped_file")

    stamped_file(
        name = "labels",
        pairs = {"org.opencontainers.image.version": "{STABLE_VERSION:-0.0.0}"},
    )

    healthcheck_base(
        name = "health",
        os = "linux",
        architecture = "amd64",
        healthcheck = json.encode({"test": ["/opt/venv/bin/python", "-m", "app.healthcheck"]}),
    )

    oci_image(name = "image", base = ":health", labels = ":labels", tars = [...])

Both produce what rules_oci's public API takes (a `KEY=VALUE` file, an OCI layout), so the
image keeps building when the kit's rules_oci is swapped for the real one.
"""

load("//image_extras/private:rules.bzl", _healthcheck_base = "healthcheck_base", _stamped_file = "stamped_file")

healthcheck_base = _healthcheck_base
stamped_file = _stamped_file

"""The kit's extras beside rules_oci's API: inline stamping, a healthcheck base, runner sequences.

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
image keeps building when the kit's rules_oci is swapped for the real one. `run_in_order`
chains `bazel run` targets (fastapi_image's STEMsign: cosign_sign, then each cosign_attest).
"""

load(
    "//image_extras/private:rules.bzl",
    _healthcheck_base = "healthcheck_base",
    _run_in_order = "run_in_order",
    _stamped_file = "stamped_file",
)

healthcheck_base = _healthcheck_base
run_in_order = _run_in_order
stamped_file = _stamped_file

"""Public API: image_sbom, a CycloneDX 1.6 SBOM of an oci_image.

Example:

    load("@fastapi_kit//sbom:defs.bzl", "image_sbom")
    load("@pypi//:requirements.bzl", "all_whl_requirements")

    image_sbom(
        name = "sbom",  # writes sbom.cdx.json
        image = ":image",
        debian_lock = "@fastapi_kit//distroless:packages.lock.json",
        requirements_lock = ":requirements_lock.txt",
        wheels = all_whl_requirements,
    )
"""

load("//sbom/private:sbom.bzl", "image_sbom_rule")

def image_sbom(name, image, debian_lock, requirements_lock, wheels, **kwargs):
    """Writes `<name>.cdx.json`, the CycloneDX 1.6 JSON SBOM of `image`.

    Args:
      name: Target name; the output is `<name>.cdx.json`.
      image: The oci_image target.
      debian_lock: The Debian lock of the base layer (JSON list with name, version, arch, sha256).
      requirements_lock: The hash-pinned requirements lock of the venv layer.
      wheels: Wheels to hash Python distributions by, e.g. `all_whl_requirements` of the
        app's pip hub (only those installed in the image are read).
      **kwargs: image_name, repository, uv_lock (the uv_workspace.lock.json, for packages
        built from sdists), and common attributes (visibility, tags, ...).
    """
    image_sbom_rule(
        name = name,
        image = image,
        debian_lock = debian_lock,
        requirements_lock = requirements_lock,
        wheels = wheels,
        **kwargs
    )

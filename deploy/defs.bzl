"""Kubernetes manifests: render a kustomization with the image pinned by digest.

Example:

    load("@bazel_skylib//rules:common_settings.bzl", "string_flag")
    load("//deploy:defs.bzl", "kustomize_build")

    string_flag(
        name = "repository",
        build_setting_default = "localhost:5000/fastapi-oci",
    )

    kustomize_build(
        name = "manifests",
        srcs = glob(["base/**", "overlays/dev/**"]),
        overlay = "overlays/dev",
        image = "//:image",
        image_name = "fastapi-oci",
        repository = ":repository",
    )
"""

load("//deploy/private:kustomize.bzl", _kustomize_build = "kustomize_build")

kustomize_build = _kustomize_build

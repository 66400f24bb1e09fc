"""OCI image rules: oci_image and oci_load (see defs.bzl)."""

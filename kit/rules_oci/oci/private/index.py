"""Build an OCI image index layout from single-platform images: the action of oci_image_index.

Each image's blobs are copied into one layout whose `index.json` points at the image index, the
form rules_oci writes and `oci_push`, `oci_load(format = "oci")` and registries take. The order
of `--image` is kept, so the same inputs always give the same index digest.
"""

from __future__ import annotations

from kit_lib import cli, layout
from kit_lib.layout import ImageError

from oci.private import imageconfig

PROG = "oci_image_index"


def main(argv: list[str] | None = None) -> int:
    """Write the index; print its digest and platforms, or one error line and exit 1."""
    p = cli.Parser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--output", required=True, help="OCI layout directory to write")
    p.add_argument("--digest-file", help="file to write 'sha256:<index digest>\\n' to")
    p.add_argument("--image", action="append", required=True, help="an oci_image layout, in order")
    p.add_argument("--annotations-file", help="KEY=VALUE lines (index annotations)")
    args = p.parse_args(argv)
    try:
        annotations = imageconfig.assignments(
            imageconfig.pairs_file(args.annotations_file, "annotations"), "annotations"
        )
        with layout.staged_dir(args.output) as staging:
            digest = layout.write_index(staging, args.image, annotations)
        if args.digest_file:
            layout.write_file_atomic(args.digest_file, (digest + "\n").encode())
    except (ImageError, OSError) as err:
        return cli.fail(PROG, err)
    index = layout.read_index(args.output, verify_layers=False)
    names = ", ".join(layout.platform_name(d["platform"]) for d, _ in index.images)
    print(f"{digest} ({names})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

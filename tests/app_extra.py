"""A first-party module beside the app, for //tests:variant_image.

It stands for "a change to the app's own code": //tests:image_layout_test builds the image again
with it and checks that only the app layer moves, while the base and venv layers keep their
digests (and so their cache entries in registries and on nodes).
"""

EXTRA = "variant"

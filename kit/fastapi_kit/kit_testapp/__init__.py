"""A tiny FastAPI app of the kit's own, so the kit's macro tests need no product code."""

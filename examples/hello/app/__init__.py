"""The hello service: a FastAPI app (`app.main:app`), served in its image by the kit's launcher."""

SERVICE_NAME = "hello"

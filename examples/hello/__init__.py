"""The hello service: a FastAPI app served by uvicorn (`python -m examples.hello`)."""

SERVICE_NAME = "hello"

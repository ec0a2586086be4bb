"""The HTTP API (FastAPI): routers, authentication and error mapping."""

"""Pydantic schemas and the customer field catalogue."""

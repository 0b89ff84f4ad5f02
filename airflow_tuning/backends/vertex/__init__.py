"""Vertex AI: the only code that knows its tuning-job API."""

"""Google Gemini Developer API: the only code that knows its REST API, tuned models and in-line examples."""

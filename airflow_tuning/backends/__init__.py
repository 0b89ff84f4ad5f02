"""One adapter per tuning service (``vertex``, ``gemini_api``) behind one interface."""

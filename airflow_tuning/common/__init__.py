"""Service-neutral building blocks: names and URIs, the retry rule, rendered values, connection settings.

Pure Python: nothing here imports Airflow or a Google SDK at module level.
"""

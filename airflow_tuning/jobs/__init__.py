"""Tuning jobs, whatever service runs them: states, summary, verdict, polling and waiting, retry identity.

The request and its method live here too. Pure Python: nothing here imports Airflow or a Google SDK at module
level.
"""

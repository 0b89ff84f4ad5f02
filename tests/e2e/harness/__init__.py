"""Start, drive and stop the real Airflow stack for the drills."""

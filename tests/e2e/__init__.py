"""End-to-end drills on the real Airflow stack (PostgreSQL, scheduler, triggerer, api-server, emulator)."""

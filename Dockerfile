# The official Airflow 3.3 image plus this provider (and its offline emulator), pinned by constraints.txt.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:0 pyproject.toml constraints.txt README.md /opt/airflow-tuning/
COPY --chown=airflow:0 airflow_tuning /opt/airflow-tuning/airflow_tuning
RUN pip install --no-cache-dir -c /opt/airflow-tuning/constraints.txt "/opt/airflow-tuning[emulator]"

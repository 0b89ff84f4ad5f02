"""Apache Airflow provider for Gemini fine-tuning on Vertex AI."""

__version__ = "0.1.0"

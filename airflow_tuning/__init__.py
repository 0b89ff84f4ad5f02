"""Apache Airflow provider for Gemini fine-tuning on Vertex AI and the Gemini Developer API."""

from airflow_tuning.common import moved as _moved

__version__ = "0.1.0"

_moved.install()

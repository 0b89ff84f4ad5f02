"""A logical model: one Model Registry display name, one champion, retrained run after run.

``names`` holds the pure rules (display name, the label naming the model on its tuning jobs);
``registry`` reads and writes the Model Registry (which versions hold an alias, keeping it unique);
``continuation`` decides, for one tuning task, whether to continue from the champion or bootstrap.
"""

from airflow_tuning.logical_model.names import MODEL_LABEL, model_label_value, with_model_label
from airflow_tuning.logical_model.registry import AmbiguousAliasError, LogicalModel, survey

__all__ = [
    "MODEL_LABEL",
    "AmbiguousAliasError",
    "LogicalModel",
    "model_label_value",
    "survey",
    "with_model_label",
]

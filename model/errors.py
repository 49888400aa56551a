"""The one exception type of the model layer: a run the user can fix (bad checkpoint, NaN loss...)."""


class ModelError(Exception):
    """Its message is one line naming the file or setting and what is wrong."""


class WeightsMissing(ModelError):
    """Pretrained weights this host lacks: a fault of the host, not of the run's settings."""

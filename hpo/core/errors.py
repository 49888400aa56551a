"""The one exception type of the HPO layer: a plan, study or worker setting the user can fix."""


class HpoError(Exception):
    """Its message is one line naming the study, plan file or flag and what is wrong."""

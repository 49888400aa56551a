"""The one exception type of the data layer: a defect the user can fix in their files."""


class DataError(Exception):
    """A malformed dataset, file or argument; its message is one `path:line: what` line."""

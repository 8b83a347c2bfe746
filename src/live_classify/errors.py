"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class LiveClassifyError(Exception):
    """A problem the user can fix (bad file, bad flag, missing device); never a bug."""

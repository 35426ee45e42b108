"""One exception type for user-facing failures: the CLI prints it and exits 1."""


class ModelError(Exception):
    """Bad input or a missing file: the message says which file and what was expected."""

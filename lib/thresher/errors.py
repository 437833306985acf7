"""Errors that reach the user: each carries a message meant to be read, not a traceback."""


class ThresherError(Exception):
    """Base class of every error thresher reports to the user as a one-line message."""


class ConfigError(ThresherError):
    """The pipeline configuration is invalid; raised before Spark starts."""


class InputError(ThresherError):
    """The input cannot be read at all (no files, unknown format, wrong column types)."""


class ResumeError(ThresherError):
    """An output directory holds committed work that does not match the requested run."""


class InvariantError(ThresherError):
    """A stage lost or invented documents: docs_in != docs_out + docs_excluded."""


class SchemaMismatchError(ThresherError):
    """Data written to an existing table does not match the table's schema."""

"""`CommandError`: how a sub-command reports a user's mistake (its own module, so that
`main` and the sub-commands it loads do not import each other)."""


class CommandError(Exception):
    """A user mistake reported as one line and a non-zero exit (2 unless `code` says
    otherwise), never a traceback."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code

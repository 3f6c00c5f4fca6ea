"""Errors a user can cause. The CLI prints their message as one line and exits non-zero."""


class HarnessError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class CorpusError(HarnessError):
    pass


class ModelError(HarnessError):
    pass


class StoreError(HarnessError):
    pass

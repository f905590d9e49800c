"""The one error type the CLI turns into a one-line message and a non-zero exit."""


class MlayerError(Exception):
    """A user-facing failure: the message names the culprit and the fix, on one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

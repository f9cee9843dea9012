"""The one exception type users see: a message that names the problem and the fix."""


class PopgenHubError(Exception):
    """An error in the user's input or environment, reported as one line without a traceback."""

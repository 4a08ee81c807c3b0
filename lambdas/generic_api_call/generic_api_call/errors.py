"""Exceptions whose class names become the Step Functions `Error` of a failed task.

Lambda reports an unhandled exception as `errorType` = the class name, and Step Functions
uses that as the error name in `Retry` and `Catch`. Renaming a class here is therefore an
API change for the state machine (statemachines/api_call.asl.json).

Messages are kept whole here: handler.py masks secrets in them, THEN caps them
(limits.MAX_MESSAGE_CHARS), so a cut can never fall inside a secret.
"""


class GenericApiCallError(Exception):
    """Base class; never raised itself."""


class InvalidTemplate(GenericApiCallError):
    """The stored template is malformed: a missing or mistyped field, or Jinja that does not parse."""


class RenderError(GenericApiCallError):
    """The template could not be rendered with these params (missing param, unsafe value...)."""


class SecretNotAllowed(GenericApiCallError):
    """The template asked for a secret that its `secrets` allow-list does not name."""


class DestinationRefused(GenericApiCallError):
    """The request would go to a host outside the allow-list, or to a refused address."""


class UpstreamTimeout(GenericApiCallError):
    """The API did not connect or answer within the template's timeout. Retried."""


class UpstreamConnectionError(GenericApiCallError):
    """The API could not be reached (refused, reset, DNS). Retried."""


class UpstreamThrottled(GenericApiCallError):
    """The API answered 429/503 with a Retry-After beyond the deadline. Not retried."""


class UpstreamUnavailable(GenericApiCallError):
    """The API answered 429/502/503/504 to an idempotent request. Retried."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code

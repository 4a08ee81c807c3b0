"""Raises an exception of its own class, with no message (AWS: errorType CustomException)."""


class CustomException(Exception):
    pass


def handler(event: object, context: object) -> None:
    raise CustomException()

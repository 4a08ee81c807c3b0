"""Returns a string decoded from bytes (AWS: the payload "HelloWorld!")."""


def handler(event: object, context: object) -> str:
    return b"HelloWorld!".decode("utf-8")

"""Returns the same object whatever the event (piped twice, AWS gave {"Return": {"Return": "HelloWorld"}})."""


def handler(event: object, context: object) -> dict[str, str]:
    return {"Return": "HelloWorld"}

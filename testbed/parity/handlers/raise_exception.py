def handler(event: object, context: object) -> None:
    raise Exception("Some exception was raised.")


# AWS recorded the stack trace of the raise on line 2: keep it there.

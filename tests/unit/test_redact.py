"""Secret values are masked in every form they may take in a result or an error."""

from urllib.parse import quote

from generic_api_call import redact

SECRET = "s3cr&t/välue"


def test_every_form_is_masked():
    forms = redact.forms([SECRET])
    text = f"plain {SECRET} path {quote(SECRET, safe='')} query {quote(SECRET).replace('%20', '+')}"
    assert SECRET not in redact.text(text, forms)
    assert "s3cr" not in redact.text(text, forms)


def test_data_is_walked_keys_included():
    forms = redact.forms([SECRET])
    data = {"headers": {"Authorization": f"Bearer {SECRET}"}, SECRET: [SECRET, 1, None]}
    cleaned = redact.data(data, forms)
    assert SECRET not in repr(cleaned)
    assert cleaned["headers"]["Authorization"] == f"Bearer {redact.MASK}"


def test_short_values_are_not_masked():
    assert redact.forms(["abc", ""]) == []
    assert redact.data({"a": "abc"}, redact.forms(["abc"])) == {"a": "abc"}

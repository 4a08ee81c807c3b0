"""The handler's contract: event shape in, result or a named exception out."""

import pytest

from generic_api_call.errors import InvalidTemplate, RenderError
from generic_api_call.handler import lambda_handler
from generic_api_call.limits import MAX_MESSAGE_CHARS


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.mark.parametrize("event", [{}, [], {"params": {}}])
def test_event_without_template(event):
    with pytest.raises(InvalidTemplate, match="'template'"):
        lambda_handler(event, Context())


def test_item_missing_url():
    event = {"template": {"PK": {"S": "t"}, "SK": {"S": "GET"}}, "params": {}}
    with pytest.raises(InvalidTemplate, match="missing required field 'url'"):
        lambda_handler(event, Context())


def test_params_must_be_a_map():
    event = {"template": {"PK": {"S": "t"}, "SK": {"S": "GET"}, "url": {"S": "http://x"}}, "params": "a"}
    with pytest.raises(RenderError, match="params must be a map"):
        lambda_handler(event, Context())


def test_error_messages_are_capped_for_the_cause():
    event = {"template": {"PK": {"S": "t"}, "SK": {"S": "GET"}, "url": {"S": "http://x/"}, "z" * 50_000: {"S": ""}}}
    with pytest.raises(InvalidTemplate) as caught:
        lambda_handler(event, Context())
    assert len(str(caught.value)) <= MAX_MESSAGE_CHARS

"""The handler's contract: event shape in, result or a named exception out."""

import pytest

from generic_api_call.errors import InvalidTemplate, RenderError
from generic_api_call.handler import lambda_handler


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
    from generic_api_call.errors import MAX_MESSAGE_CHARS, UpstreamUnavailable

    assert len(str(RenderError("x" * 50_000))) == MAX_MESSAGE_CHARS
    assert str(UpstreamUnavailable("y" * 5_000, 503)).endswith("...[truncated]")

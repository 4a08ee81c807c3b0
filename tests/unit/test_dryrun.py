"""Dry run (`testbed render`): the request the Lambda would send, masked, with the destination verdict."""

from __future__ import annotations

import json
import subprocess
import sys

from generic_api_call.template import from_plain
from testbed import settings
from testbed.runs import dryrun


def run_render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "testbed", "render", *args], capture_output=True, text=True,
                          check=False, cwd=settings.ROOT, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "TESTBED_ALLOWED_HOSTS_EXTRA": ""})


def test_render_from_the_template_files_needs_no_stack() -> None:
    done = run_render("get_user", "GET", "--params", '{"user_id": "42/x"}', "--base-url", "http://127.0.0.1:9",
                      "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["url"] == "http://127.0.0.1:9/users/42%2Fx?fields=id%2Cname&lang=en"
    assert shown["headers"]["Accept"] == "application/json"
    assert shown["allowed"] and shown["verdict"].startswith("allowed: 127.0.0.1:9")


def test_bearer_tokens_and_secrets_are_masked() -> None:
    template = from_plain({"PK": "t", "SK": "POST", "url": "{{ base_url }}/x?api_key={{ params.k }}",
                           "headers": {"Authorization": "Bearer {{ params.token }}",
                                       "X-Vault": "{{ secret('/app/key') }}"},
                           "secrets": ["/app/key"],
                           "body": {"token": "{{ secret('/app/key') }}"}})
    result = dryrun.dry_run(template, {"token": "tok-123456", "k": "k-abcdef"}, base_url="http://127.0.0.1:9",
                            allowed_hosts="127.0.0.1:9", secrets=lambda name: "s3cr3t-value", source="test")
    rendered = json.dumps(result.to_dict())
    for secret in ("tok-123456", "k-abcdef", "s3cr3t-value"):
        assert secret not in rendered
    assert result.headers["Authorization"] == "[REDACTED]"
    assert json.loads(result.body or "") == {"token": "[REDACTED]"}


def test_a_destination_outside_the_allow_list_is_refused_not_sent() -> None:
    template = from_plain({"PK": "t", "SK": "GET", "url": "http://169.254.169.254/latest/meta-data"})
    result = dryrun.dry_run(template, {}, base_url="http://127.0.0.1:9", allowed_hosts="127.0.0.1:9",
                            secrets=dryrun.placeholder_secrets, source="test")
    assert not result.allowed
    assert result.verdict.startswith("refused:")


def test_a_render_error_is_what_the_execution_would_fail_with() -> None:
    done = run_render("get_profile", "GET", "--params", "{}")
    assert done.returncode == 1
    assert "RenderError: headers.Authorization: missing param 'token'" in done.stdout


def test_an_unknown_template_names_the_known_ones() -> None:
    done = run_render("nope", "GET")
    assert done.returncode == 1
    assert "get_user.GET" in done.stderr

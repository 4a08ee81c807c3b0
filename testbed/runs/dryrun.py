"""Dry run: the exact request the Lambda would send for a template and params, and the verdict
of its destination check, without sending anything.

The one adapter between the testbed and the Lambda: it calls the Lambda's own
`generic_api_call.handler.prepare_request` (render in the sandbox, resolve and mask secrets,
add the traceparent, check the destination), the code path `lambda_handler` runs before it
sends, so what the dry run shows is what would be sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from generic_api_call.destinations import AllowList
from generic_api_call.errors import DestinationRefused, GenericApiCallError, UpstreamConnectionError
from generic_api_call.handler import prepare_request
from generic_api_call.template import Template
from testbed.runs import contract_check, masking
from testbed.runs.inert import inert

if TYPE_CHECKING:
    from mockapi.contract import Operation

# What the traceparent of a dry run derives from (a real execution uses its ARN).
DRY_RUN_EXECUTION_ID = "dry-run"


@dataclass(frozen=True)
class DryRun:
    template: str
    source: str  # the template file, or the table
    method: str
    url: str  # secrets masked
    headers: dict[str, str]  # secrets masked
    body: str | None  # secrets masked
    allowed: bool
    verdict: str  # the destination check's answer, in words
    error: str | None = None  # the error that would be the execution's Error/Cause
    contract: str | None = None  # the contract check's answer, in words (None: the template has no contract)
    contract_violations: tuple[str, ...] = ()  # `part.field: rule`, secrets masked

    @property
    def ok(self) -> bool:
        """Would be sent, and conforms to its contract (if it has one)."""
        return self.allowed and not self.contract_violations

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def placeholder_secrets(name: str) -> str:
    """No stack, no secret store: each secret reads as a placeholder (masked like a real one)."""
    return f"<secret {name}>"


def dry_run(
    template: Template,
    params: Mapping[str, Any],
    *,
    base_url: str,
    allowed_hosts: str,
    secrets: Callable[[str], str],
    source: str,
    contract: Operation | None = None,
) -> DryRun:
    label = f"{template.name} {template.method}"
    allow = AllowList.parse(allowed_hosts)
    try:
        try:
            prepared = prepare_request(template, params, base_url=base_url, allowed_hosts=allow,
                                       resolve_secret=secrets, execution_id=DRY_RUN_EXECUTION_ID)
        except UpstreamConnectionError as exc:
            # The host resolves only where the Lambda runs (e.g. `mockapi` inside Compose's network):
            # show the request after the static checks (origin, allow-list, IP literals).
            prepared = prepare_request(template, params, base_url=base_url, allowed_hosts=allow,
                                       resolve_secret=secrets, execution_id=DRY_RUN_EXECUTION_ID, resolve=False)
            unresolved: str | None = str(exc)
        else:
            unresolved = None
    except DestinationRefused as exc:
        return _not_sent(label, source, template, f"refused: {exc}", exc, contract)
    except GenericApiCallError as exc:
        return _not_sent(label, source, template, "not checked: the template did not render", exc, contract)
    verdict_of_contract = None if contract is None else contract_check.check(contract, prepared)
    shown = prepared.masked()
    if prepared.target is not None:
        verdict = f"allowed: {prepared.target.host}:{prepared.target.port} connects to {prepared.target.address}"
    else:
        verdict = f"allowed by the static checks; the host does not resolve here ({unresolved})"
    return DryRun(
        template=label,
        source=source,
        method=shown["method"],
        url=masking.url(shown["url"]),
        headers=masking.headers(shown["headers"]),
        body=shown["body"],
        allowed=True,
        verdict=verdict,
        contract=None if verdict_of_contract is None else verdict_of_contract.text,
        contract_violations=() if verdict_of_contract is None else verdict_of_contract.violations,
    )


def _not_sent(label: str, source: str, template: Template, verdict: str, exc: Exception,
              contract: Operation | None) -> DryRun:
    unchecked = None if contract is None else f"not checked: no request to check ({contract_check.describe(contract)})"
    return DryRun(label, source, template.method, "", {}, None, False, verdict, error=f"{type(exc).__name__}: {exc}",
                  contract=unchecked)


def render_text(result: DryRun) -> str:
    """Plain text, as an HTTP request reads (the CLI prints this, or JSON); inert (params and
    templates may hold control characters)."""
    lines = [f"# {result.template} (from {result.source})"]
    if result.error:
        lines += [f"# would fail before sending: {result.error}", f"# destination check: {result.verdict}"]
        lines += _contract_lines(result)
        return inert("\n".join(lines))
    lines.append(f"{result.method} {result.url}")
    lines += [f"{name}: {value}" for name, value in result.headers.items()]
    if result.body is not None:
        lines += ["", result.body]
    lines += ["", f"# destination check: {result.verdict}", *_contract_lines(result)]
    return inert("\n".join(lines))


def _contract_lines(result: DryRun) -> list[str]:
    if result.contract is None:
        return []
    if not result.contract_violations:
        return [f"# contract check: {result.contract}"]
    head = result.contract.split(":", 1)[0]
    return [f"# contract check: {head}:", *(f"#   {violation}" for violation in result.contract_violations)]

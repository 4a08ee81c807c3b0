"""The seed's check of each template's `examples:` (params sets): rendered as the Lambda would,
then checked against the template's contract, before anything is written.

Secrets read as placeholders here (the seed resolves none), so a contract that constrains a
secret's form sees `<secret name>`; the dry run and the mock API's journal see real values.
"""

from __future__ import annotations

from testbed.deploy.templates import TemplateFile, TemplateFileError
from testbed.runs import contract_check, dryrun


def check(template_files: list[TemplateFile], base_url: str, allowed: str) -> None:
    """Raise TemplateFileError on the first example that does not render or breaks the contract."""
    for template_file in template_files:
        for index, params in enumerate(template_file.examples):
            result = dryrun.dry_run(template_file.template, params, base_url=base_url, allowed_hosts=allowed,
                                    secrets=dryrun.placeholder_secrets, source=str(template_file.path),
                                    contract=template_file.contract)
            where = f"field 'examples[{index}]'"
            if result.error:
                raise TemplateFileError(template_file.path, f"{where} would fail before sending: {result.error}")
            if result.contract_violations and template_file.contract is not None:
                raise TemplateFileError(
                    template_file.path,
                    f"{where} breaks the contract {contract_check.describe(template_file.contract)}: "
                    + "; ".join(result.contract_violations))

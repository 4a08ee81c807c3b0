"""What the contract report is computed from: the documents' operations and the template files
that name them (the shipped ones), plus the plugin's records."""

from __future__ import annotations

from pathlib import Path

from mockapi.contract import load_dir as load_documents
from testbed.contracts import report
from testbed.deploy.templates import load_dir as load_templates


def build(contracts_dir: Path, templates_dir: Path, records: list[report.Record]) -> report.ContractReport:
    operations = [(op.document.name, op.label, op.method, op.path)
                  for document in load_documents(contracts_dir) for op in document.operations]
    callers: dict[tuple[str, str], list[str]] = {}
    for template_file in load_templates(templates_dir):
        if template_file.contract is not None:
            key = (template_file.contract.document.name, template_file.contract.label)
            callers.setdefault(key, []).append(f"{template_file.template.name} {template_file.template.method}")
    return report.compute(operations, callers, records)

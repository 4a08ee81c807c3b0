"""What a seed changed: the one record the CLI, the stacks, the Docker hook and the tests share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class SeedReport:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    state_machine_arn: str = ""

    def to_json(self) -> str:
        return json.dumps({"changed": self.changed, "unchanged": self.unchanged,
                           "stateMachineArn": self.state_machine_arn})

    @classmethod
    def from_json(cls, text: str) -> SeedReport:
        data = json.loads(text)
        return cls(changed=data["changed"], unchanged=data["unchanged"], state_machine_arn=data["stateMachineArn"])

    def lines(self) -> list[str]:
        lines = [f"  {line}" for line in self.changed]
        if not self.changed:
            lines.append(f"  nothing changed ({len(self.unchanged)} resources already up to date)")
        else:
            lines.append(f"  {len(self.changed)} changed, {len(self.unchanged)} unchanged")
        return lines

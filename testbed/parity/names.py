"""The names a case runs under, and the way back to the names AWS recorded.

Each case's Lambda functions, tables and state machine get the recorded name plus a suffix
unique to the run and the case, so cases run side by side (and again, on a long-running
emulator) without meeting. The definition and the input are rewritten to use them; the
normaliser maps them back before it applies the case's own replacements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RECORDED_ACCOUNT = "111111111111"  # the account the cases were recorded (and masked) with
RECORDED_REGION = "us-east-1"
ROLE_NAME = "parity-capture-role"


@dataclass(frozen=True)
class Names:
    suffix: str
    account: str
    region: str
    ours: dict[str, str] = field(default_factory=dict)  # recorded name -> our name

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{ROLE_NAME}"

    def add(self, recorded: str) -> str:
        self.ours[recorded] = f"{recorded}_{self.suffix}"
        return self.ours[recorded]

    def to_ours(self, text: str) -> str:
        """Recorded names, account and region -> ours (longest name first: one may hold another)."""
        for recorded in sorted(self.ours, key=len, reverse=True):
            text = text.replace(recorded, self.ours[recorded])
        text = text.replace(f":{RECORDED_ACCOUNT}:", f":{self.account}:")
        return text.replace(f":{RECORDED_REGION}:", f":{self.region}:")

    def to_recorded(self, text: str) -> str:
        """Ours -> the recorded names, account and region."""
        for recorded, ours in sorted(self.ours.items(), key=lambda pair: len(pair[1]), reverse=True):
            text = text.replace(ours, recorded)
        text = text.replace(f":{self.account}:", f":{RECORDED_ACCOUNT}:")
        return text.replace(f":{self.region}:", f":{RECORDED_REGION}:")

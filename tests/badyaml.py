"""Hostile YAML inputs shared by the loader, pytest, validate and sync tests."""
from __future__ import annotations


def alias_bomb(rule_id: str = "Bomb.Rule", filename: str = "bomb.py") -> str:
    """The audit's alias bomb: aliases 10 wide, 8 deep under ``Tests[0].Log``."""
    lines = [
        "AnalysisType: rule", f"RuleID: {rule_id}", f"Filename: {filename}", "Enabled: true",
        "Severity: Low", "LogTypes: [AWS.CloudTrail]", "Tests:", "  - Name: boom",
        "    ExpectedResult: false", "    Log:", "      a: &a [" + ", ".join(["x"] * 10) + "]",
    ]
    for prev, cur in zip("abcdefg", "bcdefgh"):
        lines.append(f"      {cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"

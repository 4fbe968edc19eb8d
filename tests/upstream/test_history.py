from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from upstream_repos import commit

from pytest_panther.upstream.git import Git
from pytest_panther.upstream.history import fork_edits
from pytest_panther.upstream.history import spec_ids_at

FILES: dict[str, str | None] = {
    "rules/a.yml": "AnalysisType: rule\nRuleID: 'Quoted.Rule'  # note\n",
    "rules/deep/b.yaml": "AnalysisType: policy\r\nPolicyID: \"Crlf.Policy\"\r\n",
    "packs/p.yml": "AnalysisType: pack\nPackID: Pack.P\nPackDefinition:\n  IDs:\n    - RuleID: nested\n",
    "rules/two.yml": "RuleID: First\nRuleID: Second\n",
    "rules/empty.yml": "RuleID:\nPolicyID: Later\n",
    "rules/notes.md": "RuleID: Not.A.Spec\n",
    "templates/t.yml": "RuleID: Outside.Paths\n",
}


@pytest.mark.parametrize("grep", [True, False], ids=["git-grep", "old-git-fallback"])
def test_spec_ids_at_reads_the_first_top_level_id_line(make_repo: Callable[[str], Path], grep: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo("repo")
    sha = commit(root, "specs", FILES)
    commit(root, "later", {"rules/c.yml": "RuleID: After\n"})
    if not grep:  # git < 2.38 has no `git grep -m`: the blobs are read instead
        real = Git.run

        def no_max_count(self: Git, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
            if "grep" in args:
                return subprocess.CompletedProcess(list(args), 129, "", "error: unknown switch `m'")
            return real(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Git, "run", no_max_count)
    assert spec_ids_at(Git(root), sha) == {"Quoted.Rule", "Crlf.Policy", "Pack.P", "First"}
    assert spec_ids_at(Git(root), sha, ("packs",)) == {"Pack.P"}


def test_fork_edits_of_yaml_that_is_no_spec_are_other_files(make_repo: Callable[[str], Path]) -> None:
    # Newcomer trial: after `init --upstream` and the panther-* hooks merged into the fork's
    # .pre-commit-config.yaml, `upstream status` said "modified .pre-commit-config.yaml ->
    # `upstream migrate-edits` can turn it into an override" among the edits of detections.
    root = make_repo("repo")
    spec = "AnalysisType: rule\nRuleID: Okta.Global.MFA.Disabled\nSeverity: High\n"
    base = commit(root, "upstream", {
        ".pre-commit-config.yaml": "repos: []\n",
        ".github/workflows/lint.yml": "on: push\n",
        "rules/okta_rules/okta_admin_disabled_mfa.yml": spec,
    })
    commit(root, "fork", {
        ".pre-commit-config.yaml": "default_install_hook_types: [pre-commit]\nrepos: []\n",
        ".github/workflows/lint.yml": None,
        "rules/okta_rules/okta_admin_disabled_mfa.yml": spec.replace("High", "Critical"),
    })
    edits = {e.path: (e.status, e.kind, e.ids) for e in fork_edits(Git(root), base)}
    assert edits == {
        ".pre-commit-config.yaml": ("M", "other", []),
        ".github/workflows/lint.yml": ("D", "other", []),
        "rules/okta_rules/okta_admin_disabled_mfa.yml": ("M", "yaml", ["Okta.Global.MFA.Disabled"]),
    }

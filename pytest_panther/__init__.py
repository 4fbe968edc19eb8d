"""pytest-panther: detections-as-code for Panther.

PYTEST_DONT_REWRITE: ``panther-gitops hook test`` imports this package before it starts pytest,
and pytest would then warn on every run that the plugin "cannot be rewritten" (the plugin's code
needs no assertion rewriting: its few ``assert`` statements only narrow types).
"""

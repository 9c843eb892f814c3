"""The actions the server knows: each has its own kind, and command-only ones are not listed."""

from __future__ import annotations

from hermes_lsp.features.actions import ACTIONS, Target, offered_actions


def test_free_form_refactor_has_its_own_kind_and_is_not_listed_as_a_code_action():
    refactor = ACTIONS["refactor"]
    assert refactor.kind == "refactor.rewrite.hermes.refactor" and refactor.reasoning
    assert len({spec.kind for spec in ACTIONS.values()}) == len(ACTIONS)
    target = Target("file:///w/a.py", "a.py", "def f():\n    return 1\n", 1, 1, 2, "return 1")
    listed = {offer.spec.id for offer in offered_actions(target, [], None)}
    assert "refactor" not in listed and {"simplify", "extract_function", "explain"} <= listed

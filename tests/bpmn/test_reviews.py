"""Table-driven review decisions: each rule, quorum, duplicates, outsiders, certainty, deadline."""

import pytest

from bpmn.reviews import Vote, decide

OPTS = ("approve", "reject")


def votes(*pairs):
    return [Vote(voter, option, at=i) for i, (voter, option) in enumerate(pairs)]


CASES = [
    # (name, votes, rule, quorum, reviewers, final, expected decision)
    ("first: one vote decides at quorum 1", votes(("ann", "approve")), "first", 1, (), False, "approve"),
    ("first: waits for quorum 2", votes(("ann", "approve"), ("bob", "reject")), "first", 2, (), False, None),
    ("first: first option to reach quorum 2", votes(("ann", "approve"), ("bob", "reject"), ("cid", "reject")),
     "first", 2, (), False, "reject"),
    ("majority: undecided below quorum", votes(("ann", "approve")), "majority", 2, (), False, None),
    ("majority open list: closes at quorum", votes(("ann", "approve"), ("bob", "approve")), "majority", 2, (),
     False, "approve"),
    ("majority open list: tie waits", votes(("ann", "approve"), ("bob", "reject")), "majority", 2, (), False, None),
    ("majority reviewers: certain before all voted",
     votes(("ann", "approve"), ("bob", "approve")), "majority", 2, ("ann", "bob", "cid"), False, "approve"),
    ("majority reviewers: not yet certain",
     votes(("ann", "approve"), ("bob", "reject")), "majority", 2, ("ann", "bob", "cid"), False, None),
    ("majority reviewers: deadline takes the leader",
     votes(("ann", "approve"), ("bob", "approve"), ("cid", "reject")), "majority", 3,
     ("ann", "bob", "cid", "dan", "eve"), True, "approve"),
    ("majority reviewers: deadline below quorum gives nothing",
     votes(("ann", "approve")), "majority", 2, ("ann", "bob", "cid"), True, None),
    ("majority: deadline tie gives nothing", votes(("ann", "approve"), ("bob", "reject")), "majority", 2,
     ("ann", "bob", "cid"), True, None),
    ("unanimous: all listed agree", votes(("ann", "approve"), ("bob", "approve")), "unanimous", 1, ("ann", "bob"),
     False, "approve"),
    ("unanimous: waits for every reviewer", votes(("ann", "approve")), "unanimous", 1, ("ann", "bob"), False, None),
    ("unanimous: one dissent decides at once", votes(("ann", "approve"), ("bob", "reject")), "unanimous", 1,
     ("ann", "bob", "cid"), False, "reject"),
    ("unanimous open list: quorum of agreeing votes", votes(("ann", "approve"), ("bob", "approve")), "unanimous", 2,
     (), False, "approve"),
    ("duplicate votes: the latest counts", votes(("ann", "reject"), ("ann", "approve")), "first", 1, (), False,
     "approve"),
    ("duplicate votes count once", votes(("ann", "approve"), ("ann", "approve")), "majority", 2, (), False, None),
    ("non-reviewers are ignored", votes(("mallory", "reject"), ("eve", "reject")), "majority", 1, ("ann", "bob"),
     False, None),
    ("reviewer names are case-insensitive", votes(("Ann", "approve")), "first", 1, ("ann",), False, "approve"),
    ("unknown options are ignored", votes(("ann", "maybe")), "first", 1, (), False, None),
]


@pytest.mark.parametrize("name, given, rule, quorum, reviewers, final, expected", CASES, ids=[c[0] for c in CASES])
def test_decision(name, given, rule, quorum, reviewers, final, expected):
    tally = decide(given, OPTS, rule, quorum, reviewers, final=final)
    assert tally.decision == expected, tally.reason


def test_tally_counts_effective_votes():
    tally = decide(votes(("ann", "reject"), ("ann", "approve"), ("bob", "approve"), ("x", "reject")), OPTS,
                   "majority", 5, ("ann", "bob", "cid"))
    assert tally.counts == {"approve": 2, "reject": 0}
    assert tally.voters == 2


def test_three_options_majority():
    opts = ("red", "green", "blue")
    given = votes(("a", "red"), ("b", "green"), ("c", "green"))
    assert decide(given, opts, "majority", 3, ()).decision == "green"


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError):
        decide([], OPTS, "dictator", 1)

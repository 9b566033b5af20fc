"""Deciding a review from its votes: the rule, the quorum and who counts.

Pure: the server stores votes and calls `decide` after each vote and at the deadline. A decision
is made as soon as it is certain: when no vote still possible could change it.

Rules, for options (o1, o2, ...) and `quorum` q (at least q votes are needed for any decision):
- `first`: the first option to collect q votes wins.
- `majority`: with listed reviewers, an option wins once it has at least q votes counted and
  more than any other option could still reach with the reviewers who have not voted; without a
  list (anyone may vote), the review closes at q votes and the leading option wins (a tie waits
  for the next vote). At the deadline the leading option wins if q votes were cast.
- `unanimous`: o1 (approve, by default) wins only if every vote is for it: all listed reviewers,
  or q votes when anyone may vote. Any vote for another option decides that option at once
  (with several, the one with most votes, then the earliest).
Each voter counts once (their latest vote); votes of people not listed, when a list is given,
and votes for unknown options are ignored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Vote:
    voter: str
    option: str
    at: float = 0.0


@dataclass(frozen=True)
class Tally:
    counts: dict[str, int]
    voters: int
    decision: str | None
    reason: str

    @property
    def decided(self) -> bool:
        return self.decision is not None


def effective_votes(votes: list[Vote], options: tuple[str, ...], reviewers: tuple[str, ...] = ()) -> list[Vote]:
    """One vote per voter (the latest), for known options, from listed reviewers if any are listed."""
    allowed = {r.casefold() for r in reviewers}
    latest: dict[str, Vote] = {}
    for vote in sorted(votes, key=lambda v: v.at):
        if vote.option in options and (not allowed or vote.voter.casefold() in allowed):
            latest[vote.voter.casefold()] = vote
    return sorted(latest.values(), key=lambda v: v.at)


def decide(votes: list[Vote], options: tuple[str, ...], rule: str, quorum: int,
           reviewers: tuple[str, ...] = (), final: bool = False) -> Tally:
    counted = effective_votes(votes, options, reviewers)
    counts = Counter(v.option for v in counted)
    tally = {o: counts.get(o, 0) for o in options}
    cast = len(counted)

    def result(decision: str | None, reason: str) -> Tally:
        return Tally(tally, cast, decision, reason)

    if rule == "first":
        running: Counter[str] = Counter()
        for vote in counted:
            running[vote.option] += 1
            if running[vote.option] >= quorum:
                return result(vote.option, f"{vote.option} was first to {quorum} vote(s)")
        return result(None, f"no option has {quorum} vote(s) yet")

    if rule == "unanimous":
        dissent = [v for v in counted if v.option != options[0]]
        if dissent:
            dissenting = Counter(v.option for v in dissent)
            top = max(dissenting.values())
            winner = next(v.option for v in dissent if dissenting[v.option] == top)
            return result(winner, f"not unanimous: {dissenting[winner]} vote(s) for {winner}")
        needed = max(quorum, len(reviewers)) if reviewers else quorum
        if cast >= needed:
            return result(options[0], f"all {cast} vote(s) for {options[0]}")
        return result(None, f"{cast} of {needed} agreeing vote(s)")

    if rule != "majority":
        raise ValueError(f"unknown review rule {rule!r}")
    if cast < quorum:
        return result(None, f"{cast} of {quorum} vote(s)")
    ranked = counts.most_common()
    leader, lead = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    if reviewers:
        outstanding = len({r.casefold() for r in reviewers}) - cast
        if lead > runner_up + outstanding:
            return result(leader, f"{leader} leads {lead} to {runner_up} with {outstanding} reviewer(s) left")
        if not final and outstanding > 0:
            return result(None, f"{leader} leads {lead} to {runner_up}; {outstanding} reviewer(s) may still vote")
    if lead == runner_up:
        return result(None, "tied")
    return result(leader, f"{leader} has the most votes ({lead} of {cast})")

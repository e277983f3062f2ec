"""Opt-out keywords: what counts as an opt-out reply, and the account option's parsing."""

from __future__ import annotations

import pytest

from dovecote import account_options
from dovecote.contacts.optouts import DEFAULT_KEYWORDS, is_opt_out, keywords, parse_keywords
from dovecote.core.errors import InvalidInput


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop! ", "unsubscribe.", "opt   out", "End"])
def test_a_whole_body_that_is_a_keyword_opts_out(body: str) -> None:
    assert is_opt_out(body, DEFAULT_KEYWORDS)


@pytest.mark.parametrize("body", ["Stop by tomorrow", "", "   ", "STOPPED", "please stop it"])
def test_a_message_that_merely_contains_a_keyword_does_not(body: str) -> None:
    assert not is_opt_out(body, DEFAULT_KEYWORDS)


def test_an_account_may_set_its_own_keywords() -> None:
    words = parse_keywords(" arret, Stop ,, ARRET")

    assert words == ["ARRET", "STOP"]
    assert is_opt_out("Arrêt".replace("ê", "e"), keywords({"sms_opt_out_keywords": words}))
    assert not is_opt_out("unsubscribe", keywords({"sms_opt_out_keywords": words}))
    assert keywords({}) == DEFAULT_KEYWORDS


@pytest.mark.parametrize("raw", ["", " , ", ",".join(["W"] * 51), "x" * 41])
def test_keywords_that_cannot_work_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="sms_opt_out_keywords"):
        parse_keywords(raw if raw != ",".join(["W"] * 51) else ",".join(f"W{i}" for i in range(51)))


def test_the_account_option_takes_comma_separated_keywords_and_clears_with_nothing() -> None:
    assert account_options.parse(["sms_opt_out_keywords=Arret, Stop"]) == {
        "sms_opt_out_keywords": ["ARRET", "STOP"]
    }
    assert account_options.parse(["sms_opt_out_keywords="]) == {"sms_opt_out_keywords": None}
    with pytest.raises(InvalidInput):
        account_options.parse(["sms_opt_out_keywords=,"])

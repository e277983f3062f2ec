"""The sender book: which `from` values an account may use, and default-sender picks."""

from __future__ import annotations

from dovecote.numbers.senders import SenderBook, pick_default

BOOK = SenderBook(
    dedicated=frozenset({"+12025550101"}),
    own={"own-1": "+12025550143"},
    tags={"tag-1": "Dovecote"},
)


def test_the_book_allows_its_numbers_in_any_format_and_its_tags_in_any_case() -> None:
    assert BOOK.allows("+12025550101")
    assert BOOK.allows("2025550101", "US")
    assert BOOK.allows("12025550143", "US")
    assert BOOK.allows("DOVECOTE")
    assert BOOK.allows("")  # the shared number
    assert not BOOK.allows("+12025550188")
    assert not BOOK.allows("Dovecot")
    assert not BOOK.allows("not a number")


def test_a_strategy_resolves_by_id_or_value_and_only_to_what_the_account_has() -> None:
    assert BOOK.resolve("alpha_tag", "tag-1") == "Dovecote"
    assert BOOK.resolve("alpha_tag", "dovecote") == "Dovecote"
    assert BOOK.resolve("own_number", "own-1") == "+12025550143"
    assert BOOK.resolve("own_number", "2025550143", "US") == "+12025550143"
    assert BOOK.resolve("longcode", "+12025550101") == "+12025550101"
    assert BOOK.resolve("shared_longcode", "anything") == ""
    assert BOOK.resolve("alpha_tag", "Other") is None
    assert BOOK.resolve("tollfree", "+12025550143") is None  # an own number, not bought
    assert BOOK.resolve("pigeon", "x") is None


def test_the_first_enabled_strategy_that_resolves_wins() -> None:
    strategies = [
        {"sender_type": "alpha_tag", "sender_id": "Gone", "priority": 1},
        {"sender_type": "alpha_tag", "sender_id": "tag-1", "priority": 3, "status": "DISABLED"},
        {"sender_type": "own_number", "sender_id": "own-1", "priority": 2},
    ]

    assert pick_default(BOOK, strategies, "US") == "+12025550143"
    assert pick_default(BOOK, strategies[:2], "US") is None

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dovecote.channels.sms.parts import (
    GSM_BASIC,
    GSM_EXTENSION,
    Encoding,
    SmsParts,
    count_parts,
)

NO_LIMIT = 10**9
EMOJI = "😀"  # U+1F600: one code point, two UTF-16 code units


@pytest.mark.parametrize(
    ("body", "encoding", "units", "parts"),
    [
        pytest.param("", "GSM", 0, 1, id="empty"),
        pytest.param("a", "GSM", 1, 1, id="1 gsm"),
        pytest.param("a" * 160, "GSM", 160, 1, id="160 gsm"),
        pytest.param("a" * 161, "GSM", 161, 2, id="161 gsm"),
        pytest.param("a" * 306, "GSM", 306, 2, id="306 gsm"),
        pytest.param("a" * 307, "GSM", 307, 3, id="307 gsm"),
        pytest.param("a" * 459, "GSM", 459, 3, id="459 gsm"),
        pytest.param("a" * 460, "GSM", 460, 4, id="460 gsm"),
        pytest.param("€" * 80, "GSM", 160, 1, id="80 euro"),
        pytest.param("€" * 81, "GSM", 162, 2, id="81 euro"),
        pytest.param("{}" * 80, "GSM", 320, 3, id="160 ascii extension"),
        pytest.param("’" + "a" * 69, "UCS2", 70, 1, id="70 ucs2"),
        pytest.param("’" + "a" * 70, "UCS2", 71, 2, id="71 ucs2"),
        pytest.param("’" + "a" * 133, "UCS2", 134, 2, id="134 ucs2"),
        pytest.param("’" + "a" * 134, "UCS2", 135, 3, id="135 ucs2"),
        pytest.param(EMOJI + "a" * 68, "UCS2", 70, 1, id="emoji 70 units"),
        pytest.param(EMOJI + "a" * 69, "UCS2", 71, 2, id="emoji 71 units"),
        pytest.param(EMOJI * 35, "UCS2", 70, 1, id="35 emoji"),
        pytest.param("é" * 160, "GSM", 160, 1, id="160 non-ascii gsm"),
        pytest.param("\u00a0" + "a" * 69, "UCS2", 70, 1, id="nbsp forces ucs2"),
        pytest.param("`" + "a" * 69, "UCS2", 70, 1, id="ascii backtick forces ucs2"),
        pytest.param("a\r\n" * 53 + "a", "GSM", 160, 1, id="160 with line breaks"),
    ],
)
def test_it_counts_encoding_units_and_parts(
    body: str, encoding: Encoding, units: int, parts: int
) -> None:
    assert count_parts(body) == SmsParts(encoding, units, parts, body)


def test_it_counts_161_gsm_chars_as_two_parts() -> None:
    assert count_parts("a" * 161).parts == 2


def test_an_extension_char_straddling_the_153_boundary_closes_the_part_early() -> None:
    # 306 septets would divide into 2 parts, but € (ESC + code) cannot start
    # at septet 153: part 1 holds 152 septets, and the tail spills to part 3.
    body = "a" * 152 + "€" + "a" * 152
    assert count_parts(body) == SmsParts("GSM", 306, 3, body)


def test_an_extension_char_ending_exactly_at_153_fits() -> None:
    body = "a" * 151 + "€" + "a" * 153
    assert count_parts(body) == SmsParts("GSM", 306, 2, body)


def test_an_emoji_straddling_the_67_boundary_is_not_split() -> None:
    body = "a" * 66 + EMOJI + "a" * 66  # 134 units: 66 | 2 + 65 | 1
    assert count_parts(body) == SmsParts("UCS2", 134, 3, body)


def test_36_emoji_need_two_parts_of_33_and_3() -> None:
    assert count_parts(EMOJI * 36) == SmsParts("UCS2", 72, 2, EMOJI * 36)


@pytest.mark.parametrize("char", ["’", EMOJI, "`", "\t", "ç", "°"])
def test_one_non_gsm_char_switches_the_whole_message_to_ucs2(char: str) -> None:
    gsm = count_parts("a" * 300)
    ucs2 = count_parts("a" * 299 + char)
    assert (gsm.encoding, gsm.parts) == ("GSM", 2)
    assert (ucs2.encoding, ucs2.parts) == ("UCS2", 5)


def test_the_gsm_alphabet_has_127_basic_and_10_extension_chars() -> None:
    assert len(GSM_BASIC) == 127  # 128 code points minus ESC
    assert len(GSM_EXTENSION) == 10
    assert "\x1b" not in GSM_BASIC
    assert GSM_BASIC.isdisjoint(GSM_EXTENSION)
    assert count_parts("".join(sorted(GSM_BASIC))).units == 127
    assert count_parts("".join(sorted(GSM_EXTENSION))).units == 20


@pytest.mark.parametrize(
    ("body", "max_parts", "encoding", "units", "kept"),
    [
        pytest.param("a" * 2000, 6, "GSM", 918, 918, id="gsm 6"),
        pytest.param("a" * 2000, 8, "GSM", 1224, 1224, id="gsm 8"),
        pytest.param("a" * 2000, 1, "GSM", 160, 160, id="gsm 1 keeps single capacity"),
        pytest.param("€" * 1000, 6, "GSM", 912, 456, id="euro 6"),
        pytest.param("€" * 1000, 8, "GSM", 1216, 608, id="euro 8"),
        pytest.param("’" * 1000, 6, "UCS2", 402, 402, id="ucs2 6"),
        pytest.param("’" * 1000, 8, "UCS2", 536, 536, id="ucs2 8"),
        pytest.param("’" * 1000, 1, "UCS2", 70, 70, id="ucs2 1"),
        pytest.param(EMOJI * 1000, 6, "UCS2", 396, 198, id="emoji 6"),
        pytest.param(EMOJI * 1000, 8, "UCS2", 528, 264, id="emoji 8"),
    ],
)
def test_it_truncates_to_max_parts(
    body: str, max_parts: int, encoding: Encoding, units: int, kept: int
) -> None:
    expected = SmsParts(encoding, units, max_parts, body[:kept])
    assert count_parts(body, max_parts) == expected


def test_it_truncates_without_splitting_a_trailing_extension_char() -> None:
    # 2 parts of 153: "a"*152 + (€ would straddle) | € + "a"*151, then € again
    body = "a" * 152 + "€" + "a" * 151 + "€" * 10
    assert count_parts(body, 2) == SmsParts("GSM", 305, 2, body[:304])


def test_a_truncation_that_drops_every_non_gsm_char_reports_the_cheaper_gsm_body() -> None:
    # The UCS-2 cut (3 x 67 = 201 chars) falls before the curly quote, so the
    # kept text is plain GSM: it is sent as such and only needs 2 parts.
    body = "a" * 300 + "’" + "a" * 1000
    assert count_parts(body, 3) == SmsParts("GSM", 300, 2, "a" * 300)


def test_a_truncation_that_keeps_a_non_gsm_char_stays_ucs2() -> None:
    body = "a" * 200 + "’" + "a" * 1000
    assert count_parts(body, 3) == SmsParts("UCS2", 201, 3, body[:201])


def test_it_rejects_max_parts_below_one() -> None:
    with pytest.raises(ValueError, match="max_parts"):
        count_parts("hi", 0)


def test_a_lone_surrogate_counts_as_one_unit() -> None:
    assert count_parts("\ud83d" + "a" * 69) == SmsParts("UCS2", 70, 1, "\ud83d" + "a" * 69)


# --- properties, checked against a deliberately naive reference ---------------

_ALPHABET = st.sampled_from(["a", "Z", " ", "é", "Δ", "€", "{", "\\", "’", "`", EMOJI, "中"])
_BODIES = st.text(alphabet=_ALPHABET, max_size=700)
# Long runs of one character make the part boundaries land on every offset.
_RUNNY = st.lists(st.tuples(_ALPHABET, st.integers(1, 200)), max_size=6).map(
    lambda runs: "".join(ch * n for ch, n in runs)
)


def _naive_parts(body: str) -> tuple[Encoding, int, int]:
    """Encoding, units, parts by walking every character; no truncation."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in body):
        costs = [2 if ch in GSM_EXTENSION else 1 for ch in body]
        encoding: Encoding = "GSM"
        single, multi = 160, 153
    else:
        costs = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
        encoding = "UCS2"
        single, multi = 70, 67
    if sum(costs) <= single:
        return encoding, sum(costs), 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            parts, used = parts + 1, 0
        used += cost
    return encoding, sum(costs), parts


@given(st.one_of(_BODIES, _RUNNY))
def test_it_agrees_with_a_naive_character_walk(body: str) -> None:
    result = count_parts(body, NO_LIMIT)
    assert (result.encoding, result.units, result.parts) == _naive_parts(body)
    assert result.body == body


@given(st.one_of(_BODIES, _RUNNY), st.one_of(_BODIES, _RUNNY))
def test_parts_never_decrease_as_the_body_grows(body: str, more: str) -> None:
    assert count_parts(body, NO_LIMIT).parts <= count_parts(body + more, NO_LIMIT).parts


@given(st.one_of(_BODIES, _RUNNY), st.integers(1, 4))
def test_truncation_keeps_the_longest_prefix_that_fits(body: str, max_parts: int) -> None:
    result = count_parts(body, max_parts)
    assert body.startswith(result.body)
    assert 1 <= result.parts <= max_parts
    # The result describes its own body, whichever encoding that needs.
    assert count_parts(result.body, max_parts) == result
    assert _naive_parts(result.body) == (result.encoding, result.units, result.parts)
    if result.body != body:
        # One more character would not fit.
        assert _naive_parts(body[: len(result.body) + 1])[2] > max_parts

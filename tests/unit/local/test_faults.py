"""Fault-spec grammar, seeded draws and cursor helpers (lfnb.local.faults); HTTP behaviour is in
tests/integration/test_server.py."""

from __future__ import annotations

import base64
import json
from collections import Counter

import pytest

from lfnb.local.faults import FaultPlan, FaultSpecError, equivalent_cursor, error_reply, short_limit

FULL = "429=0.05,500=0.02,502=0.01,503=0.01,524=0.01,drop=0.01,slow=0.02,empty=0.05,short=0.05,seed=7"


def test_parse_full_spec():
    plan = FaultPlan.parse(FULL)
    assert plan.probabilities == {"429": 0.05, "500": 0.02, "502": 0.01, "503": 0.01, "524": 0.01,
                                  "drop": 0.01, "slow": 0.02, "empty": 0.05, "short": 0.05}
    assert plan.seed == 7
    assert plan.retry_after == 1.0
    assert plan.slow_ms == 1000.0


def test_parse_options_and_spaces():
    plan = FaultPlan.parse(" 500 = 0.5 , retry_after=0, slow_ms=20 ,")
    assert plan.probabilities == {"500": 0.5}
    assert (plan.seed, plan.retry_after, plan.slow_ms) == (0, 0.0, 20.0)


@pytest.mark.parametrize("spec,message", [
    ("404=0.1", "unknown fault kind '404'; valid kinds: 429, 500, 502, 503, 524, drop, slow, empty, short"),
    ("drop", "fault item 'drop' has no '='"),
    ("500=lots", "probability of 500 must be a number, got 'lots'"),
    ("500=1.5", r"probability of 500 must be in \[0, 1\], got '1.5'"),
    ("500=0.7,502=0.6", "fault probabilities add up to 1.3; they must add up to at most 1"),
    ("seed=x", "seed must be a number, got 'x'"),
    ("slow_ms=-1", "slow_ms must not be negative"),
])
def test_parse_errors_say_what_is_valid(spec, message):
    with pytest.raises(FaultSpecError, match=message):
        FaultPlan.parse(spec)


def test_unknown_kind_lists_the_options_too():
    with pytest.raises(FaultSpecError) as info:
        FaultPlan.parse("timeout=0.1")
    assert "valid options: seed, retry_after, slow_ms" in str(info.value)


def test_draws_are_deterministic_per_seed():
    a = [FaultPlan.parse(FULL).draw() for _ in range(1)]
    first = FaultPlan.parse(FULL)
    second = FaultPlan.parse(FULL)
    seq1 = [first.draw() for _ in range(500)]
    seq2 = [second.draw() for _ in range(500)]
    assert seq1 == seq2
    assert a[0] == seq1[0]
    other = FaultPlan.parse(FULL.replace("seed=7", "seed=8"))
    assert [other.draw() for _ in range(500)] != seq1


def test_draw_frequencies_follow_the_probabilities():
    plan = FaultPlan.parse("500=0.2,empty=0.3,seed=1")
    counts = Counter(kind for kind, _ in (plan.draw() for _ in range(10000)))
    assert set(counts) == {"500", "empty", None}
    assert 1850 < counts["500"] < 2150
    assert 2850 < counts["empty"] < 3150


def test_zero_probability_never_fires():
    plan = FaultPlan.parse("500=0,seed=3")
    assert {plan.draw()[0] for _ in range(1000)} == {None}


def test_error_replies():
    status, headers, body = error_reply("429", 1.0)
    assert status == 429
    assert headers == {"X-Lfnb-Fault": "429", "Retry-After": "1"}
    assert body["code"] == "rate_limited" and body["details"]["retryAfterSeconds"] == 1
    status, headers, body = error_reply("524", 1.0)
    assert (status, headers, body) == (524, {"X-Lfnb-Fault": "524"},
                                       {"message": "A timeout occurred", "error": "Timeout"})
    assert error_reply("429", 0.5)[1]["Retry-After"] == "0.5"


def test_short_limit():
    assert short_limit(None, 50, 0.0) == 1
    assert short_limit("10", 50, 0.999) == 9
    assert short_limit("1", 50, 0.5) is None
    assert short_limit("0", 50, 0.5) is None
    assert short_limit("abc", 50, 0.5) is None


def test_equivalent_cursor_same_position_new_text():
    payload = {"lastStartTimeTo": "2026-10-31T10:00:00.123Z", "lastTraceId": "t1", "lastId": "o1"}
    cursor = base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    again = equivalent_cursor(cursor, urlsafe=False)
    assert again != cursor
    assert json.loads(base64.b64decode(again)) == payload
    third = equivalent_cursor(again, urlsafe=False)
    assert third not in (cursor, again)
    assert json.loads(base64.b64decode(third)) == payload


def test_equivalent_cursor_base64url_without_padding():
    payload = {"lastTimestamp": "2026-10-31T10:00:00.000Z", "lastId": "s-1?>"}
    cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    again = equivalent_cursor(cursor, urlsafe=True)
    assert "=" not in again and "+" not in again and "/" not in again
    assert json.loads(base64.urlsafe_b64decode(again + "=" * (-len(again) % 4))) == payload


def test_equivalent_cursor_rejects_non_json():
    assert equivalent_cursor("not base64!", urlsafe=False) is None
    assert equivalent_cursor(base64.b64encode(b"\xff\xfe").decode(), urlsafe=False) is None


def test_lost_is_a_kind_and_keeps_old_sequences():
    assert FaultPlan.parse("lost=0.3").probabilities == {"lost": 0.3}
    old = FaultPlan.parse(FULL)
    with_lost = FaultPlan.parse(FULL + ",lost=0.1")
    # a new kind walks after the old ones: every fault an old spec drew is drawn again
    pairs = [(old.draw()[0], with_lost.draw()[0]) for _ in range(2000)]
    assert all(b == a for a, b in pairs if a is not None)
    assert any(b == "lost" for a, b in pairs if a is None)

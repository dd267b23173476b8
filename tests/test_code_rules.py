"""The rules of verification codes, against a real Redis with a clock we control."""

import pytest

from blueprints.auth.service import CodeRules, CodeStore, SendRefused, seal, unseal
from blueprints.auth.targets import InvalidTarget, normalize_email, normalize_phone

TARGET = "user@example.com"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(app_redis, clock):
    # No proofs of work asked here: the tests of them make their own store.
    rules = CodeRules(challenge_target=1000, challenge_client=1000)
    return CodeStore(app_redis, "secret", rules, clock=clock)


def issue(store, clock, target=TARGET, channel="email"):
    issued = store.issue(channel, target, "login")
    clock.advance(61)  # past the resend cooldown, so the next issue is allowed
    return issued.code


def test_a_code_is_six_digits_and_works_once(store, clock):
    code = issue(store, clock)
    assert len(code) == 6 and code.isdigit()
    assert store.check(TARGET, "login", code)
    assert not store.check(TARGET, "login", code)


def test_a_code_expires_after_five_minutes(store, clock):
    code = store.issue("email", TARGET, "login").code
    clock.advance(299)
    assert store.check(TARGET, "login", code)

    code = issue(store, clock)
    clock.advance(300 - 61)
    assert not store.check(TARGET, "login", code)


def test_a_new_code_replaces_the_old_one(store, clock):
    old = issue(store, clock)
    new = issue(store, clock)
    assert old != new or pytest.skip("the two random codes happened to be equal")
    assert not store.check(TARGET, "login", old)
    assert store.check(TARGET, "login", new)


def test_five_wrong_tries_burn_the_code(store, clock):
    code = issue(store, clock)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert not store.check(TARGET, "login", wrong)
    assert store.check(TARGET, "login", code), "four wrong tries leave the code usable"

    code = issue(store, clock)
    for _ in range(5):
        assert not store.check(TARGET, "login", wrong)
    assert not store.check(TARGET, "login", code), "the fifth wrong try burns it"


def test_codes_are_kept_only_as_a_keyed_hash(store, clock, app_redis):
    code = issue(store, clock)
    dump = {key: app_redis.dump(key) for key in app_redis.keys("*")}
    assert all(code.encode() not in value for value in dump.values())


def test_resend_waits_for_the_cooldown(store, clock):
    store.issue("email", TARGET, "login")
    clock.advance(20)
    with pytest.raises(SendRefused) as refused:
        store.issue("email", TARGET, "login")
    assert (refused.value.reason, refused.value.retry_after) == ("cooldown", 40)
    clock.advance(40)
    store.issue("email", TARGET, "login")


def test_at_most_five_codes_in_ten_minutes(store, clock):
    for _ in range(5):
        issue(store, clock)
    with pytest.raises(SendRefused) as refused:
        store.issue("email", TARGET, "login")
    assert refused.value.reason == "too_many_codes"
    assert 0 < refused.value.retry_after <= 600 - 4 * 61
    clock.advance(refused.value.retry_after)
    store.issue("email", TARGET, "login")


def test_no_refusal_of_one_requester_outlasts_ten_minutes(store, clock):
    """A day's worth at the highest pace: each refusal ends within the window,
    and only the target's ceiling (everyone's codes) ends the day."""
    sent, longest = 0, 0
    while True:
        try:
            store.issue("email", TARGET, "login", requester="ip:shared")
            sent += 1
            clock.advance(61)
        except SendRefused as refused:
            if refused.reason == "target_limit":
                break
            longest = max(longest, refused.retry_after)
            clock.advance(refused.retry_after)
    assert sent == 30 and 0 < longest <= 600


def test_caps_are_per_target(store, clock):
    for _ in range(5):
        issue(store, clock)
    store.issue("email", "other@example.com", "login")


def test_the_sms_budget_stops_a_flood_of_distinct_numbers(app_redis, clock):
    store = CodeStore(app_redis, "secret", CodeRules(sms_daily_budget=3), clock=clock)
    for number in range(3):
        store.issue("sms", f"+861380013800{number}", "login")
    with pytest.raises(SendRefused) as refused:
        store.issue("sms", "+8613800138009", "login")
    assert refused.value.reason == "budget_exhausted"
    store.issue("email", TARGET, "login")  # mail costs nothing and goes on


def test_each_issue_queues_one_sealed_send_and_asks_for_one_dispatcher(store, clock):
    first = store.issue("email", TARGET, "login")
    second = store.issue("email", "other@example.com", "login")
    assert first.kick and not second.kick, "one dispatcher run serves both"

    published: list[dict] = []
    assert store.drain_outbox(published.append) == 2
    assert [send["task_id"] for send in published] == [first.task_id, second.task_id]
    assert published[0]["target"] == TARGET and published[0]["channel"] == "email"
    assert unseal("secret", published[0]["sealed"], max_age=300) == first.code
    assert first.code not in str(published)

    assert store.drain_outbox(published.append) == 0, "each send is handed on once"
    clock.advance(61)
    assert store.issue("email", TARGET, "login").kick, "after a drain the next send asks again"


def test_a_send_whose_dispatcher_died_is_handed_on_again(store, app_redis):
    issued = store.issue("email", TARGET, "login")

    def die(send):
        raise ConnectionError("broker gone")

    with pytest.raises(ConnectionError):
        store.drain_outbox(die)
    published: list[dict] = []
    assert store.drain_outbox(published.append) == 0, "still claimed by the dead dispatcher"
    assert store.drain_outbox(published.append, stale_after_ms=0) == 1, "a minute later"
    assert published[0]["task_id"] == issued.task_id


def test_sealed_codes_open_only_with_the_key_and_in_time():
    sealed = seal("key", "123456")
    assert "123456" not in sealed
    assert unseal("key", sealed, max_age=300) == "123456"
    assert unseal("other key", sealed, max_age=300) is None
    tampered = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    assert unseal("key", tampered, max_age=300) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phone_numbers_are_stored_in_e164(raw, expected):
    assert normalize_phone(raw, "CN") == expected


@pytest.mark.parametrize("raw", ["123", "abc", "+86 138", "1" * 30])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidTarget):
        normalize_phone(raw, "CN")


def test_emails_are_normalized_and_validated():
    assert normalize_email(" User@Example.COM ".strip()) == "user@example.com"
    for raw in ["user", "user@", "@example.com", "a b@example.com"]:
        with pytest.raises(InvalidTarget):
            normalize_email(raw)


def test_one_drain_hands_on_at_most_its_limit(store, app_redis):
    for n in range(5):
        store.issue("email", f"user{n}@example.com", "login")
    published: list[dict] = []
    assert store.drain_outbox(published.append, limit=2, batch=2) == 2
    assert store.drain_outbox(published.append, limit=10) == 3
    assert len({send["task_id"] for send in published}) == 5


# Someone hammering an address must not lock its owner out.


def test_caps_count_each_requester_apart(store, clock):
    for _ in range(5):
        store.issue("email", TARGET, "login", requester="ip:attacker")
        clock.advance(61)
    with pytest.raises(SendRefused) as refused:
        store.issue("email", TARGET, "login", requester="ip:attacker")
    assert refused.value.reason == "too_many_codes"
    store.issue("email", TARGET, "login", requester="ip:owner")


def test_a_code_belongs_to_the_browser_that_asked_for_it(store, clock):
    owner = store.issue("email", TARGET, "login", holder="owner", requester="ip:owner").code
    attacker = store.issue("email", TARGET, "login", holder="attacker", requester="ip:a").code
    wrong = f"{(int(owner) + 1) % 1_000_000:06d}"
    for _ in range(10):  # more wrong tries than burn a code
        assert not store.check(TARGET, "login", wrong, holder="attacker")
    assert not store.check(TARGET, "login", owner, holder="attacker")
    assert not store.check(TARGET, "login", attacker, holder="owner") or attacker == owner
    assert store.check(TARGET, "login", owner, holder="owner"), "not replaced, not burned"


def test_a_target_has_a_ceiling_over_all_requesters_but_its_known_devices(app_redis, clock):
    rules = CodeRules(target_per_day=3, challenge_target=1000, challenge_client=1000)
    store = CodeStore(app_redis, "secret", rules, clock=clock)
    for n in range(3):
        store.issue("email", TARGET, "login", requester=f"ip:{n}")
    with pytest.raises(SendRefused) as refused:
        store.issue("email", TARGET, "login", requester="ip:new")
    assert refused.value.reason == "target_limit"
    assert 86_000 < refused.value.retry_after <= 86_400
    store.issue("email", TARGET, "login", requester="device:owners-phone", trusted=True)


def test_a_hot_target_or_client_asks_for_a_proof_of_work(app_redis, clock):
    rules = CodeRules(challenge_target=2, challenge_client=3)
    store = CodeStore(app_redis, "secret", rules, clock=clock)
    for n in range(2):
        store.issue("email", TARGET, "login", requester=f"ip:{n}")
    with pytest.raises(SendRefused) as refused:
        store.issue("email", TARGET, "login", requester="ip:owner")
    assert refused.value.reason == "challenge"
    store.issue("email", TARGET, "login", requester="ip:owner", proven=True)
    store.issue("email", TARGET, "login", requester="device:known", trusted=True)

    for n in range(3):  # one client, many addresses
        store.issue("email", f"user{n}@example.com", "login", requester="ip:busy")
    with pytest.raises(SendRefused) as refused:
        store.issue("email", "fresh@example.com", "login", requester="ip:busy")
    assert refused.value.reason == "challenge"
    clock.advance(3601)  # an hour later both have cooled down
    store.issue("email", TARGET, "login", requester="ip:owner")
    store.issue("email", "fresh@example.com", "login", requester="ip:busy")

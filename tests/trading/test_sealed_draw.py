"""sealed-draw/1: the spec's test vectors, verification of bundles, and the draw's invariants."""

from __future__ import annotations

import copy
import json

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading import sealed_draw as sd
from trading.keys import CenterKeys

CENTER = CenterKeys(signing_key=nacl.signing.SigningKey(bytes(range(32))), kek=bytes(32))
VERIFY_KEY = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"

EXPERT_POOL = [f"EXP{i:04d}" for i in range(1, 21)]
EXPERT_SEED = bytes(31) + b"\x01"
COMMIT_RECORD = json.loads(
    '{"commitment":"5de9d7ebc6dbd8934e2341e6d26c8f5fd9063bda902ffbb02c8efb0c5dce3547","committed_at":"2026-11-22T09:00:00Z",'
    '"count":5,"criteria":{"exclude_orgs":["91370800MA3C5K8E74"],"specialties":["B0101"]},"draw_id":"D-2026-0001",'
    '"pool_digest":"6e5ca79a6b2cb85fef3c09abe4df3bb742fd0a7301345b7f3b8934e1e8c57489","pool_size":20,'
    '"project_code":"JN-2026-GC-0007","protocol":"sealed-draw/1","purpose":"expert","reserve_count":2}'
)
REVEAL_RECORD = json.loads(
    '{"center_seed":"0000000000000000000000000000000000000000000000000000000000000001","draw_id":"D-2026-0001",'
    '"protocol":"sealed-draw/1","reserves":["EXP0020","EXP0006"],"revealed_at":"2026-11-22T09:30:00Z",'
    '"selected":["EXP0013","EXP0012","EXP0011","EXP0008","EXP0009"],"witness":"supervisor:7f3a"}'
)
COMMIT_SIGNATURE = ("862d9d4b0d8779c44a464caf0a9911aec1789fd72e77ee38a9838d5e4b45c4d5"
                    "547fb524397609cf854554b7942f4eec6f2475759591e9c21e37f6420e18940c")
REVEAL_SIGNATURE = ("8aea2ccfb6cff1946e148acfbb44bdd6a82180031cf99444d3be7fe7a71496e1"
                    "c09bd2dd76781bc0f36f1714633a82c5a1c10b86a47466e4a3220a2128912d09")


def vector_bundle() -> dict:
    return {
        "verify_key": VERIFY_KEY,
        "commit": {"record": copy.deepcopy(COMMIT_RECORD), "signature": COMMIT_SIGNATURE},
        "witness": {"value": "supervisor:7f3a", "by": "supervisor", "at": "2026-11-22T09:05:00Z"},
        "reveal": {"record": copy.deepcopy(REVEAL_RECORD), "signature": REVEAL_SIGNATURE},
        "pool": list(EXPERT_POOL),
    }


def test_expert_draw_vector():
    pool = sd.sorted_pool(reversed(EXPERT_POOL))
    assert pool == EXPERT_POOL
    digest = sd.pool_digest(pool)
    assert digest == "6e5ca79a6b2cb85fef3c09abe4df3bb742fd0a7301345b7f3b8934e1e8c57489"
    assert sd.commitment("D-2026-0001", EXPERT_SEED) == "5de9d7ebc6dbd8934e2341e6d26c8f5fd9063bda902ffbb02c8efb0c5dce3547"
    seed = sd.seed("D-2026-0001", EXPERT_SEED, "supervisor:7f3a", digest)
    assert seed.hex() == "11bd93a0ece6515780c1ff968e3b610b89959809bda21d853626fa40f1f3dd23"
    selected, reserves = sd.select(pool, seed, 5, 2)
    assert selected == ["EXP0013", "EXP0012", "EXP0011", "EXP0008", "EXP0009"]
    assert reserves == ["EXP0020", "EXP0006"]
    assert CENTER.verify_key_hex == VERIFY_KEY
    assert CENTER.sign(COMMIT_RECORD) == COMMIT_SIGNATURE
    assert CENTER.sign(REVEAL_RECORD) == REVEAL_SIGNATURE


def test_agency_draw_vector_with_a_chinese_code_and_no_witness():
    pool = sd.sorted_pool(["AG-青山招标", "AG-010", "AG-001", "AG-002", "AG-001"])
    assert pool == ["AG-001", "AG-002", "AG-010", "AG-青山招标"]
    digest = sd.pool_digest(pool)
    assert digest == "d46dd3b353466f6dcee5cf323868e4d2752841eadf089ef6a292b406c3deb55e"
    center_seed = b"\xff" * 32
    assert sd.commitment("AG-0042", center_seed) == "171522620763a627b1ab0a236e9899f6770a8ab33aa08e6b8eb518bcb799d73b"
    seed = sd.seed("AG-0042", center_seed, "", digest)
    assert seed.hex() == "225559e544254d848c654b329de6cfea6e3c44254ec8ac6e964b8938168b6580"
    assert sd.select(pool, seed, 1, 3) == (["AG-青山招标"], ["AG-001", "AG-002", "AG-010"])


def test_the_vector_bundle_verifies_and_names_the_committee():
    result = sd.verify_bundle(vector_bundle(), VERIFY_KEY)
    assert result.ok and result.revealed, result.message
    assert result.selected == ("EXP0013", "EXP0012", "EXP0011", "EXP0008", "EXP0009")


def _tamper(path: str, value):
    def apply(bundle: dict) -> None:
        *parents, last = path.split(".")
        target = bundle
        for key in parents:
            target = target[key]
        target[last] = value(target[last]) if callable(value) else value
    return apply


@pytest.mark.parametrize(("tamper", "check"), [
    (_tamper("pool", lambda pool: pool[:-1] + ["EXP0099"]), "pool_digest"),
    (_tamper("reveal.record.center_seed", "00" * 31 + "02"), "reveal_signature"),
    (_tamper("witness.value", "supervisor:0000"), "witness"),
    (_tamper("reveal.record.selected", lambda s: list(reversed(s))), "reveal_signature"),
    (_tamper("commit.signature", lambda sig: ("0" if sig[0] != "0" else "1") + sig[1:]), "commit_signature"),
    (_tamper("reveal.signature", lambda sig: sig[:-2] + ("00" if sig[-2:] != "00" else "11")), "reveal_signature"),
    (_tamper("commit.record.count", 4), "commit_signature"),
    (_tamper("witness.at", "2026-11-22T08:59:00Z"), "timeline"),
    (_tamper("verify_key", "00" * 32), "verify_key"),
])
def test_tampering_with_any_piece_fails_naming_the_check(tamper, check):
    bundle = vector_bundle()
    tamper(bundle)
    result = sd.verify_bundle(bundle, VERIFY_KEY)
    assert not result.ok
    assert result.failed_check == check, result.message


def test_a_re_signed_forgery_fails_against_the_trusted_key():
    forger = CenterKeys(signing_key=nacl.signing.SigningKey(bytes(32)), kek=bytes(32))
    bundle = vector_bundle()
    bundle["verify_key"] = forger.verify_key_hex
    bundle["commit"]["signature"] = forger.sign(bundle["commit"]["record"])
    bundle["reveal"]["signature"] = forger.sign(bundle["reveal"]["record"])
    assert sd.verify_bundle(bundle, forger.verify_key_hex).ok
    assert sd.verify_bundle(bundle, VERIFY_KEY).failed_check == "verify_key"
    bundle["verify_key"] = VERIFY_KEY
    assert sd.verify_bundle(bundle, VERIFY_KEY).failed_check == "commit_signature"


def test_a_selection_that_does_not_follow_from_the_seed_fails_even_when_signed():
    bundle = vector_bundle()
    bundle["reveal"]["record"]["selected"] = ["EXP0001", "EXP0002", "EXP0003", "EXP0004", "EXP0005"]
    bundle["reveal"]["signature"] = CENTER.sign(bundle["reveal"]["record"])
    assert sd.verify_bundle(bundle, VERIFY_KEY).failed_check == "selection"


def test_an_empty_witness_needs_the_commit_record_to_say_none_was_configured():
    bundle = vector_bundle()
    record = bundle["reveal"]["record"]
    record["witness"] = ""
    record["selected"], record["reserves"] = sd.draw(EXPERT_POOL, "D-2026-0001", EXPERT_SEED, "", 5, 2)
    bundle["reveal"]["signature"] = CENTER.sign(record)
    bundle["witness"] = {"value": "", "by": None, "at": None}
    assert sd.verify_bundle(bundle, VERIFY_KEY).failed_check == "witness"
    bundle["commit"]["record"]["criteria"]["witness"] = "none"
    bundle["commit"]["signature"] = CENTER.sign(bundle["commit"]["record"])
    assert sd.verify_bundle(bundle, VERIFY_KEY).ok


def test_before_the_reveal_only_the_commitment_is_checked():
    bundle = vector_bundle()
    bundle["reveal"] = None
    bundle["pool"] = None
    result = sd.verify_bundle(bundle, VERIFY_KEY)
    assert result.ok and not result.revealed and "尚未揭晓" in result.message


def test_a_malformed_bundle_is_a_failed_check_not_a_crash():
    assert sd.verify_bundle({"commit": None}, VERIFY_KEY).failed_check == "format"


codes = st.lists(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8),
                 min_size=1, max_size=40, unique=True)


@settings(max_examples=200)
@given(pool=codes, seed=st.binary(min_size=32, max_size=32), count=st.integers(0, 45), reserves=st.integers(0, 10))
def test_selection_is_distinct_members_of_the_pool_and_deterministic(pool, seed, count, reserves):
    pool = sd.sorted_pool(pool)
    selected, reserve_list = sd.select(pool, seed, count, reserves)
    assert len(selected) == min(count, len(pool))
    assert len(selected) + len(reserve_list) == min(count + reserves, len(pool))
    chosen = selected + reserve_list
    assert len(set(chosen)) == len(chosen) and set(chosen) <= set(pool)
    assert sd.select(pool, seed, count, reserves) == (selected, reserve_list)


@given(st.binary(min_size=32, max_size=32), st.integers(1, 2**64))
def test_uniform_stays_in_range(seed, m):
    assert 0 <= sd.uniform(sd.words(seed), m) < m


@settings(max_examples=60)
@given(pool=codes, center_seed=st.binary(min_size=32, max_size=32), witness=st.text(max_size=20),
       count=st.integers(1, 5), reserves=st.integers(0, 3))
def test_any_honest_draw_verifies(pool, center_seed, witness, count, reserves):
    pool = sd.sorted_pool(pool)
    digest = sd.pool_digest(pool)
    commit = {"protocol": sd.PROTOCOL, "draw_id": "D-X", "purpose": "expert", "project_code": "P",
              "criteria": {"witness": "supervisor" if witness else "none"}, "pool_size": len(pool),
              "pool_digest": digest, "count": count, "reserve_count": reserves,
              "commitment": sd.commitment("D-X", center_seed), "committed_at": "2026-01-01T00:00:00.000000Z"}
    selected, reserve_list = sd.draw(pool, "D-X", center_seed, witness, count, reserves)
    reveal = {"protocol": sd.PROTOCOL, "draw_id": "D-X", "center_seed": center_seed.hex(), "witness": witness,
              "selected": selected, "reserves": reserve_list, "revealed_at": "2026-01-01T00:00:02.000000Z"}
    bundle = {"verify_key": VERIFY_KEY, "commit": {"record": commit, "signature": CENTER.sign(commit)},
              "witness": {"value": witness, "by": "s", "at": "2026-01-01T00:00:01.000000Z" if witness else None},
              "reveal": {"record": reveal, "signature": CENTER.sign(reveal)}, "pool": pool}
    assert sd.verify_bundle(bundle, VERIFY_KEY).ok

"""Canonical JSON and signatures reproduce the sealed-draw/1 test vectors; keys on disk."""

from __future__ import annotations

import json
import stat

import nacl.signing
import rfc8785
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.canonical import canon
from trading.errors import ConfigurationError, IntegrityFailure
from trading.keys import CenterKeys, load_center_keys, verify_signature

# From ../shared/specs/sealed-draw.md, "Test vectors".
VECTOR_KEY = nacl.signing.SigningKey(bytes(range(32)))
VECTOR_VERIFY_KEY = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
COMMIT_CANONICAL = (
    '{"commitment":"5de9d7ebc6dbd8934e2341e6d26c8f5fd9063bda902ffbb02c8efb0c5dce3547","committed_at":"2026-11-22T09:00:00Z",'
    '"count":5,"criteria":{"exclude_orgs":["91370800MA3C5K8E74"],"specialties":["B0101"]},"draw_id":"D-2026-0001",'
    '"pool_digest":"6e5ca79a6b2cb85fef3c09abe4df3bb742fd0a7301345b7f3b8934e1e8c57489","pool_size":20,'
    '"project_code":"JN-2026-GC-0007","protocol":"sealed-draw/1","purpose":"expert","reserve_count":2}'
)
COMMIT_SIGNATURE = (
    "862d9d4b0d8779c44a464caf0a9911aec1789fd72e77ee38a9838d5e4b45c4d5"
    "547fb524397609cf854554b7942f4eec6f2475759591e9c21e37f6420e18940c"
)
REVEAL_CANONICAL = (
    '{"center_seed":"0000000000000000000000000000000000000000000000000000000000000001","draw_id":"D-2026-0001",'
    '"protocol":"sealed-draw/1","reserves":["EXP0020","EXP0006"],"revealed_at":"2026-11-22T09:30:00Z",'
    '"selected":["EXP0013","EXP0012","EXP0011","EXP0008","EXP0009"],"witness":"supervisor:7f3a"}'
)
REVEAL_SIGNATURE = (
    "8aea2ccfb6cff1946e148acfbb44bdd6a82180031cf99444d3be7fe7a71496e1"
    "c09bd2dd76781bc0f36f1714633a82c5a1c10b86a47466e4a3220a2128912d09"
)
VECTOR_CENTER = CenterKeys(signing_key=VECTOR_KEY, kek=bytes(32))


@pytest.mark.parametrize(("canonical", "signature"), [(COMMIT_CANONICAL, COMMIT_SIGNATURE), (REVEAL_CANONICAL, REVEAL_SIGNATURE)])
def test_spec_records_canonicalise_and_sign_to_the_vectors(canonical, signature):
    record = json.loads(canonical)
    assert canon(record).decode() == canonical
    assert VECTOR_CENTER.verify_key_hex == VECTOR_VERIFY_KEY
    assert VECTOR_CENTER.sign(record) == signature
    assert verify_signature(record, signature, VECTOR_VERIFY_KEY)


def test_a_changed_record_or_another_key_fails_verification():
    record = json.loads(COMMIT_CANONICAL)
    other_key = nacl.signing.SigningKey(bytes(32)).verify_key.encode().hex()
    assert not verify_signature({**record, "count": 6}, COMMIT_SIGNATURE, VECTOR_VERIFY_KEY)
    assert not verify_signature(record, COMMIT_SIGNATURE, other_key)
    assert not verify_signature(record, "zz", VECTOR_VERIFY_KEY)


def test_non_ascii_is_written_as_itself_and_keys_sorted():
    assert canon({"b": "AG-青山招标", "a": [1, True, None]}) == '{"a":[1,true,null],"b":"AG-青山招标"}'.encode()


@given(st.recursive(st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet="abcxyz_", max_size=5), inner, max_size=4),
                    max_leaves=20))
def test_canonical_form_is_rfc_8785(value):
    assert canon(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [1.5, {"amount": 0.1}, [1, 2.0], {"é": 1}, 2**53])
def test_floats_huge_integers_and_non_ascii_keys_have_no_canonical_form(value):
    with pytest.raises(TypeError):
        canon(value)


def test_keys_are_made_once_with_mode_0600_and_reloaded(settings):
    first = load_center_keys(settings)
    second = load_center_keys(settings)
    assert first.verify_key_hex == second.verify_key_hex and first.kek == second.kek
    for path in (settings.signing_key_path, settings.kek_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.signing_key_path.read_text().strip() not in first.verify_key_hex


def test_sealed_data_opens_only_unaltered_and_with_the_right_key(settings):
    keys = load_center_keys(settings)
    sealed = keys.seal(b"center seed")
    assert keys.unseal(sealed) == b"center seed"
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(IntegrityFailure):
        keys.unseal(tampered)
    with pytest.raises(IntegrityFailure):
        CenterKeys(signing_key=keys.signing_key, kek=bytes(32)).unseal(sealed)


def test_a_configured_key_file_that_is_missing_or_malformed_is_refused(settings, tmp_path):
    from tests.conftest import with_settings

    with pytest.raises(ConfigurationError, match="找不到"):
        load_center_keys(with_settings(settings, signing_key_path=tmp_path / "elsewhere" / "missing.key"))
    bad = tmp_path / "bad.key"
    bad.write_text("not hex")
    with pytest.raises(ConfigurationError, match="十六进制"):
        load_center_keys(with_settings(settings, signing_key_path=bad))

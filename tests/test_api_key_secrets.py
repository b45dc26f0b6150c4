from django.test import override_settings

from apikeys.secrets import (
    SECRET_LENGTH,
    generate_key,
    hash_key,
    hashes_match,
    last_four,
    parse_key,
)


def test_a_new_key_has_prefix_long_secret_and_checksum():
    key = generate_key()
    prefix, secret, checksum = key.split("_")
    assert prefix == "apk"
    assert len(secret) == SECRET_LENGTH and secret.isalnum()
    # 32 base62 characters carry more than 190 random bits.
    assert SECRET_LENGTH * 5.95 > 128
    assert len(checksum) == 6
    assert parse_key(key) == key


def test_keys_are_different_every_time():
    assert len({generate_key() for _ in range(200)}) == 200


def test_a_mistyped_or_truncated_key_is_malformed():
    key = generate_key()
    flipped = key[:10] + ("A" if key[10] != "A" else "B") + key[11:]
    for bad in (
        flipped,
        key[:-1],
        key + "x",
        "sk-" + key[3:],
        key.replace("_", "-"),
        "",
    ):
        assert parse_key(bad) is None, bad


@override_settings(API_KEY_PREFIX="acme")
def test_the_prefix_is_configurable():
    key = generate_key()
    assert key.startswith("acme_")
    assert parse_key(key) == key
    with override_settings(API_KEY_PREFIX="apk"):
        assert parse_key(key) is None


def test_only_a_sha256_is_compared_and_last_four_come_from_the_key():
    key = generate_key()
    assert len(hash_key(key)) == 64
    assert hashes_match(hash_key(key), key)
    assert not hashes_match(hash_key(key), generate_key())
    assert last_four(key) == key[-4:]

"""BrowserID keys, JWS, certificates and local verification (msisdn-and-auth.md §2-§3)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loop import browserid
from loop.browserid import jws

NOW = 1_700_000_000.0
ISSUER = "msisdn.example.com"
AUDIENCE = "app://loop.services.mozilla.com"
KEYS = {alg: browserid.generate(alg) for alg in ("DS128", "DS256", "RS256")}


def backed(
    issuer_key: browserid.SecretKey,
    user_key: browserid.SecretKey,
    *,
    issuer: str = ISSUER,
    cert_duration: float = 3600,
    assertion_duration: float = 120,
    audience: str = AUDIENCE,
) -> str:
    cert = browserid.issue_certificate(
        issuer_key,
        issuer=issuer,
        public_key=user_key.public,
        principal={"email": browserid.msisdn_principal_email("+33623456789", issuer)},
        duration=cert_duration,
        now=NOW,
        claims={"verifiedMSISDN": "+33623456789", "fxa-verifiedEmail": "a@b.c"},
    )
    assertion = browserid.sign_assertion(
        user_key, audience=audience, now=NOW, duration=assertion_duration
    )
    return browserid.bundle([cert], assertion)


def check(bundle: str, issuer_key: browserid.SecretKey, **kwargs: object) -> object:
    options: dict[str, object] = {
        "audience": AUDIENCE,
        "trusted_keys": {ISSUER: [issuer_key.public]},
        "now": NOW + 1,
    }
    options.update(kwargs)
    return browserid.verify(bundle, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("issuer_alg", sorted(KEYS))
@pytest.mark.parametrize("user_alg", sorted(KEYS))
def test_round_trips(issuer_alg: str, user_alg: str) -> None:
    result = check(backed(KEYS[issuer_alg], KEYS[user_alg]), KEYS[issuer_alg])
    assert isinstance(result, browserid.VerifiedAssertion)
    assert result.idp_claims == {"verifiedMSISDN": "+33623456789", "fxa-verifiedEmail": "a@b.c"}
    assert result.email.endswith("@" + ISSUER) and result.issuer == ISSUER
    assert browserid.decode(result_cert(backed(KEYS[issuer_alg], KEYS[user_alg]))).algorithm == (
        issuer_alg
    )


def result_cert(bundle: str) -> str:
    return bundle.split("~")[0]


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_key_serialisation_round_trip(alg: str) -> None:
    key = KEYS[alg]
    public = browserid.public_key_from_json(key.public.to_json())
    secret = browserid.secret_key_from_json(key.to_json())
    assert public.algorithm == secret.algorithm == alg
    signature = secret.sign(b"data")
    assert key.public.verify(b"data", signature) and not public.verify(b"other", signature)
    assert set(key.public.to_json()) == ({"algorithm", "n", "e"} if alg[0] == "R" else
                                         {"algorithm", "y", "p", "q", "g"})  # fmt: skip


def test_principal_vector() -> None:
    assert browserid.msisdn_principal_email("+33623456789", "h") == (
        "de70af88-ca49-693d-e292-2b98492401c0@h"
    )


def test_forged_certificate_signature() -> None:
    bundle = backed(KEYS["DS256"], KEYS["DS128"])
    with pytest.raises(browserid.VerificationError, match="bad signature in chain"):
        check(bundle, KEYS["DS256"], trusted_keys={ISSUER: [browserid.generate("DS256").public]})


def test_tampered_payload() -> None:
    cert, assertion = backed(KEYS["RS256"], KEYS["DS128"]).split("~")
    header, _, signature = cert.split(".")
    token = jws.decode(cert)
    payload = dict(token.payload, verifiedMSISDN="+33600000000")
    forged = ".".join([header, jws.b64url_encode(jws._json_bytes(payload)), signature])
    with pytest.raises(browserid.VerificationError, match="bad signature in chain"):
        check(f"{forged}~{assertion}", KEYS["RS256"])


def test_forged_assertion() -> None:
    cert = backed(KEYS["DS256"], KEYS["DS128"]).split("~")[0]
    other = browserid.sign_assertion(KEYS["RS256"], audience=AUDIENCE, now=NOW)
    with pytest.raises(browserid.VerificationError, match="bad signature in assertion"):
        check(f"{cert}~{other}", KEYS["DS256"])


def test_algorithm_mismatch_is_refused() -> None:
    cert, assertion = backed(KEYS["DS256"], KEYS["DS128"]).split("~")
    _, payload, signature = cert.split(".")
    relabelled = jws.b64url_encode(b'{"alg":"RS256"}')
    with pytest.raises(browserid.VerificationError):
        check(f"{relabelled}.{payload}.{signature}~{assertion}", KEYS["DS256"])


def test_expired_certificate() -> None:
    bundle = backed(KEYS["DS256"], KEYS["DS128"], cert_duration=60, assertion_duration=600)
    with pytest.raises(browserid.VerificationError, match="certificate has expired"):
        check(bundle, KEYS["DS256"], now=NOW + 61)
    assert check(bundle, KEYS["DS256"], now=NOW + 61, leeway=5)


def test_expired_assertion() -> None:
    bundle = backed(KEYS["DS256"], KEYS["DS128"], assertion_duration=60)
    with pytest.raises(browserid.VerificationError, match="assertion has expired"):
        check(bundle, KEYS["DS256"], now=NOW + 61)


def test_assertion_from_the_future() -> None:
    bundle = backed(KEYS["DS256"], KEYS["DS128"])
    with pytest.raises(browserid.VerificationError, match="issued later"):
        check(bundle, KEYS["DS256"], now=NOW - 60)


@pytest.mark.parametrize(
    ("asserted", "expected", "ok"),
    [
        ("https://loop.example.com", "https://loop.example.com:443", True),
        ("https://loop.example.com", "https://loop.example.com/", True),
        ("http://loop.example.com", "loop.example.com", True),
        ("http://loop.example.com:8000", "loop.example.com:8000", True),
        ("app://loop.services.mozilla.com", "app://loop.services.mozilla.com", True),
        ("https://loop.example.com", "http://loop.example.com", False),
        ("https://evil.example.com", "https://loop.example.com", False),
        ("https://loop.example.com:8443", "https://loop.example.com", False),
        ("https://loop.example.com", "https://loop.example.com/path", False),
        ("https://loop.example.com:99999", "https://loop.example.com", False),
    ],
)
def test_audience_matching(asserted: str, expected: str, ok: bool) -> None:
    assert browserid.audience_matches(asserted, expected) is ok


def test_wrong_audience() -> None:
    bundle = backed(KEYS["DS256"], KEYS["DS128"], audience="https://evil.example.com")
    assert browserid.unverified_audience(bundle) == "https://evil.example.com"
    with pytest.raises(browserid.VerificationError, match="audience mismatch"):
        check(bundle, KEYS["DS256"])


def test_untrusted_issuer() -> None:
    bundle = backed(KEYS["DS256"], KEYS["DS128"], issuer="evil.example.com")
    with pytest.raises(browserid.VerificationError, match="untrusted issuer"):
        check(bundle, KEYS["DS256"])


@pytest.mark.parametrize(
    "bundle",
    ["", "abc", "a~b", "a.b.c~d.e.f", "~~~", "x" * 70_000 + "~a.b.c", "a~b~c"],
)
def test_malformed_bundles(bundle: str) -> None:
    with pytest.raises(browserid.VerificationError):
        check(bundle, KEYS["DS256"])


def test_support_document_keys() -> None:
    document = {
        "keys": [KEYS["RS256"].public.to_json(), {**KEYS["DS128"].public.to_json(), "use": "enc"}]
    }
    assert [k.algorithm for k in browserid.support_document_keys(document)] == ["RS256"]
    with pytest.raises(browserid.VerificationError):
        browserid.support_document_keys({"authority": "x"})


@pytest.mark.parametrize(
    "key",
    [
        None,
        [],
        {"algorithm": "EC"},
        {"algorithm": "RS", "n": "12", "e": "3"},
        {"algorithm": "RS", "n": "1" * 2000, "e": "3"},
        {"algorithm": "DS", "y": "zz", "p": "1", "q": "1", "g": "1"},
        {"algorithm": "DS", "y": 5, "p": "1", "q": "1", "g": "1"},
    ],
)
def test_bad_keys(key: object) -> None:
    with pytest.raises(browserid.KeyFormatError):
        browserid.public_key_from_json(key)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        check(text, KEYS["DS256"])
    except browserid.VerificationError:
        pass


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["algorithm", "n", "e", "y", "p", "q", "g"]),
        st.one_of(st.text(max_size=20), st.sampled_from(["RS", "DS"])),
    )
)
def test_arbitrary_keys_never_crash(key: dict[str, str]) -> None:
    try:
        browserid.public_key_from_json(key)
    except browserid.KeyFormatError:
        pass


def test_an_audience_no_answer_can_carry_is_malformed() -> None:
    """The assertion's JSON goes through the server's strict reader: a lone surrogate in
    ``aud`` (no UTF-8 text holds it) makes the assertion malformed before anything uses it."""
    payload = base64.urlsafe_b64encode(b'{"aud": "\\ud800"}').rstrip(b"=").decode()
    header = base64.urlsafe_b64encode(b'{"alg": "RS256"}').rstrip(b"=").decode()
    bundle = f"a.b.c~{header}.{payload}.c2ln"
    with pytest.raises(browserid.VerificationError, match="Malformed audience"):
        browserid.unverified_audience(bundle)

//! Server-side HTTP authentication: issuing Digest challenges and checking
//! Basic and Digest credentials.
//!
//! Used by the ACS to authenticate CPEs on its CWMP port, and by the CPE
//! simulator to authenticate connection requests.
//!
//! Nonces are stateless, so memory does not grow with the number of devices:
//! a nonce is `issued-at || salt || HMAC-MD5(secret, issued-at || salt ||
//! realm)` in hex. Any replica holding the same secret accepts it until it is
//! older than the configured lifetime; after that, a request with the right
//! password is answered with a fresh challenge carrying `stale=true`. The
//! trade-off: nonce counts are not tracked, so a captured request can be
//! replayed until its nonce expires (keep the lifetime short and use TLS).
//!
//! Everything takes the current time as an argument, and nonce salts can be
//! supplied, so tests are deterministic.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use md5::Md5;
use rand::RngCore;

use crate::headers::{
    basic_challenge, constant_time_eq, digest_ha1, digest_ha2, digest_response,
    parse_authorization, quote, to_hex, Credentials, DigestCredentials, QopParams,
};

/// Default lifetime of an issued nonce.
pub const DEFAULT_NONCE_TTL: Duration = Duration::from_secs(600);

/// How far in the future a nonce's issue time may lie (clock skew between
/// replicas) before it is considered forged.
const MAX_CLOCK_SKEW_SECS: u64 = 60;

/// Looks up the clear-text password of a user (per device or shared).
pub trait PasswordLookup {
    /// The password of `username`, or `None` for an unknown user.
    fn password_for(&self, username: &str) -> Option<String>;
}

impl<F> PasswordLookup for F
where
    F: Fn(&str) -> Option<String>,
{
    fn password_for(&self, username: &str) -> Option<String> {
        self(username)
    }
}

/// Which credential schemes the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptedSchemes {
    /// Digest only (the default).
    DigestOnly,
    /// Basic only; challenges are Basic.
    BasicOnly,
    /// Digest or Basic credentials; challenges are Digest.
    DigestOrBasic,
}

impl AcceptedSchemes {
    fn digest(self) -> bool {
        matches!(self, Self::DigestOnly | Self::DigestOrBasic)
    }

    fn basic(self) -> bool {
        matches!(self, Self::BasicOnly | Self::DigestOrBasic)
    }
}

/// The verdict on a request's `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The credentials are valid.
    Authenticated {
        /// The authenticated user name.
        username: String,
    },
    /// No (usable) credentials yet, or a stale nonce: answer `401` with this
    /// `WWW-Authenticate` value.
    Challenge(String),
    /// The credentials are wrong. Answer `401` with `challenge` as the
    /// `WWW-Authenticate` value (or `403` to stop the client retrying).
    Denied {
        /// Why, for logs; never tell the client.
        reason: DenyReason,
        /// A fresh `WWW-Authenticate` value.
        challenge: String,
    },
}

/// Why credentials were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DenyReason {
    /// The `Authorization` header could not be parsed.
    #[error("malformed Authorization header: {0}")]
    Malformed(String),
    /// The client used a scheme this server does not accept.
    #[error("authentication scheme not accepted")]
    SchemeNotAccepted,
    /// No password is known for the user name.
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    /// Wrong password (or Digest response).
    #[error("wrong credentials for user {0:?}")]
    BadCredentials(String),
    /// The Digest realm is not ours.
    #[error("Digest realm {0:?} does not match")]
    RealmMismatch(String),
    /// The Digest opaque is not the one we issued.
    #[error("Digest opaque does not match")]
    OpaqueMismatch,
    /// The Digest uri is not the request's URI.
    #[error("Digest uri {digest_uri:?} does not match request URI {request_uri:?}")]
    UriMismatch {
        /// The uri the client hashed.
        digest_uri: String,
        /// The URI of the request.
        request_uri: String,
    },
    /// A Digest algorithm other than MD5.
    #[error("unsupported Digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// A qop other than `auth`.
    #[error("unsupported Digest qop {0:?}")]
    UnsupportedQop(String),
}

/// The state of a nonce presented by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceStatus {
    /// Issued by us (or a replica sharing the secret) and still fresh.
    Valid,
    /// Issued by us but older than the lifetime.
    Expired,
    /// Not issued by us (other secret, tampered, or malformed).
    Unknown,
}

/// Issues challenges and verifies Basic and Digest credentials for one realm.
///
/// Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Clone)]
pub struct HttpAuthenticator {
    realm: String,
    mac: Hmac<Md5>,
    opaque: String,
    nonce_ttl: Duration,
    schemes: AcceptedSchemes,
}

impl fmt::Debug for HttpAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpAuthenticator")
            .field("realm", &self.realm)
            .field("nonce_ttl", &self.nonce_ttl)
            .field("schemes", &self.schemes)
            .finish_non_exhaustive()
    }
}

impl HttpAuthenticator {
    /// A Digest-only authenticator for `realm` whose nonces are signed with
    /// `secret`. Replicas that must accept each other's nonces share the
    /// secret.
    pub fn new(realm: impl Into<String>, secret: [u8; 32]) -> Self {
        let realm = realm.into();
        // HMAC accepts keys of any length, so this cannot fail.
        let mac =
            <Hmac<Md5> as Mac>::new_from_slice(&secret).expect("HMAC accepts keys of any length");
        let opaque = to_hex(&sign(&mac, &[b"opaque", realm.as_bytes()]));
        HttpAuthenticator {
            realm,
            mac,
            opaque,
            nonce_ttl: DEFAULT_NONCE_TTL,
            schemes: AcceptedSchemes::DigestOnly,
        }
    }

    /// Like [`HttpAuthenticator::new`] with a random secret (single replica).
    pub fn with_random_secret(realm: impl Into<String>) -> Self {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        Self::new(realm, secret)
    }

    /// Sets how long an issued nonce stays valid.
    pub fn with_nonce_ttl(mut self, ttl: Duration) -> Self {
        self.nonce_ttl = ttl;
        self
    }

    /// Sets which credential schemes are accepted.
    pub fn with_schemes(mut self, schemes: AcceptedSchemes) -> Self {
        self.schemes = schemes;
        self
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The `opaque` value sent in every Digest challenge.
    pub fn opaque(&self) -> &str {
        &self.opaque
    }

    /// A `WWW-Authenticate` value with a fresh random nonce.
    pub fn challenge(&self, now: SystemTime) -> String {
        let nonce = self.issue_nonce(now, rand::thread_rng().next_u64());
        self.challenge_with_nonce(&nonce, false)
    }

    /// A `WWW-Authenticate` value for a given nonce (ignored for Basic-only
    /// servers).
    pub fn challenge_with_nonce(&self, nonce: &str, stale: bool) -> String {
        if !self.schemes.digest() {
            return basic_challenge(&self.realm);
        }
        let mut header = format!(
            "Digest realm={}, qop=\"auth\", nonce={}, opaque={}, algorithm=MD5",
            quote(&self.realm),
            quote(nonce),
            quote(&self.opaque)
        );
        if stale {
            header.push_str(", stale=true");
        }
        header
    }

    /// Issues a nonce at time `now` with the given random `salt`.
    pub fn issue_nonce(&self, now: SystemTime, salt: u64) -> String {
        let issued = unix_secs(now);
        let mac = self.nonce_mac(issued, salt);
        format!("{issued:016x}{salt:016x}{}", to_hex(&mac))
    }

    /// Checks a nonce's signature and age.
    pub fn check_nonce(&self, nonce: &str, now: SystemTime) -> NonceStatus {
        let Some((issued, salt, mac)) = split_nonce(nonce) else {
            return NonceStatus::Unknown;
        };
        if !constant_time_eq(
            to_hex(&self.nonce_mac(issued, salt)).as_bytes(),
            mac.as_bytes(),
        ) {
            return NonceStatus::Unknown;
        }
        let now = unix_secs(now);
        if issued > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return NonceStatus::Unknown;
        }
        if now.saturating_sub(issued) > self.nonce_ttl.as_secs() {
            return NonceStatus::Expired;
        }
        NonceStatus::Valid
    }

    /// Judges a request's `Authorization` header (`None` if absent) for a
    /// request `method uri`, looking the password up by user name.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        method: &str,
        uri: &str,
        passwords: &impl PasswordLookup,
        now: SystemTime,
    ) -> AuthOutcome {
        let Some(header) = authorization.map(str::trim).filter(|h| !h.is_empty()) else {
            return AuthOutcome::Challenge(self.challenge(now));
        };
        let credentials = match parse_authorization(header) {
            Ok(credentials) => credentials,
            Err(err) => return self.deny(DenyReason::Malformed(err.to_string()), now),
        };
        let password = passwords.password_for(credentials.username());
        self.verify(&credentials, method, uri, password.as_deref(), now)
    }

    /// Judges parsed credentials given the user's password (`None` for an
    /// unknown user). Use this when the password lookup is asynchronous:
    /// parse with [`parse_authorization`], look up
    /// [`Credentials::username`], then verify.
    pub fn verify(
        &self,
        credentials: &Credentials,
        method: &str,
        uri: &str,
        password: Option<&str>,
        now: SystemTime,
    ) -> AuthOutcome {
        match credentials {
            Credentials::Basic {
                username,
                password: given,
            } => self.verify_basic(username, given, password, now),
            Credentials::Digest(digest) => self.verify_digest(digest, method, uri, password, now),
        }
    }

    fn verify_basic(
        &self,
        username: &str,
        given: &str,
        password: Option<&str>,
        now: SystemTime,
    ) -> AuthOutcome {
        if !self.schemes.basic() {
            return self.deny(DenyReason::SchemeNotAccepted, now);
        }
        let Some(password) = password else {
            return self.deny(DenyReason::UnknownUser(username.to_owned()), now);
        };
        if !constant_time_eq(given.as_bytes(), password.as_bytes()) {
            return self.deny(DenyReason::BadCredentials(username.to_owned()), now);
        }
        AuthOutcome::Authenticated {
            username: username.to_owned(),
        }
    }

    fn verify_digest(
        &self,
        digest: &DigestCredentials,
        method: &str,
        uri: &str,
        password: Option<&str>,
        now: SystemTime,
    ) -> AuthOutcome {
        if !self.schemes.digest() {
            return self.deny(DenyReason::SchemeNotAccepted, now);
        }
        if let Err(reason) = self.check_digest_params(digest, uri) {
            return self.deny(reason, now);
        }
        let Some(password) = password else {
            return self.deny(DenyReason::UnknownUser(digest.username.clone()), now);
        };
        if !digest_matches(digest, method, password) {
            return self.deny(DenyReason::BadCredentials(digest.username.clone()), now);
        }
        // The password is right; only now does the nonce's freshness matter
        // (RFC 7616: stale=true only for a valid digest with a bad nonce).
        match self.check_nonce(&digest.nonce, now) {
            NonceStatus::Valid => AuthOutcome::Authenticated {
                username: digest.username.clone(),
            },
            NonceStatus::Expired | NonceStatus::Unknown => {
                let nonce = self.issue_nonce(now, rand::thread_rng().next_u64());
                AuthOutcome::Challenge(self.challenge_with_nonce(&nonce, true))
            }
        }
    }

    /// Checks everything but the response and the nonce.
    fn check_digest_params(&self, digest: &DigestCredentials, uri: &str) -> Result<(), DenyReason> {
        if let Some(algorithm) = &digest.algorithm {
            if !algorithm.eq_ignore_ascii_case("MD5") {
                return Err(DenyReason::UnsupportedAlgorithm(algorithm.clone()));
            }
        }
        if let Some(qop) = &digest.qop {
            if !qop.eq_ignore_ascii_case("auth") {
                return Err(DenyReason::UnsupportedQop(qop.clone()));
            }
        }
        if digest.realm != self.realm {
            return Err(DenyReason::RealmMismatch(digest.realm.clone()));
        }
        if let Some(opaque) = &digest.opaque {
            if opaque != &self.opaque {
                return Err(DenyReason::OpaqueMismatch);
            }
        }
        if !uri_matches(&digest.uri, uri) {
            return Err(DenyReason::UriMismatch {
                digest_uri: digest.uri.clone(),
                request_uri: uri.to_owned(),
            });
        }
        Ok(())
    }

    fn deny(&self, reason: DenyReason, now: SystemTime) -> AuthOutcome {
        AuthOutcome::Denied {
            reason,
            challenge: self.challenge(now),
        }
    }

    fn nonce_mac(&self, issued: u64, salt: u64) -> [u8; 16] {
        sign(
            &self.mac,
            &[
                &issued.to_be_bytes(),
                &salt.to_be_bytes(),
                self.realm.as_bytes(),
            ],
        )
    }
}

/// Whether the Digest response is right for `password`.
fn digest_matches(digest: &DigestCredentials, method: &str, password: &str) -> bool {
    let ha1 = digest_ha1(&digest.username, &digest.realm, password);
    let ha2 = digest_ha2(method, &digest.uri);
    let qop = match (&digest.qop, &digest.nc, &digest.cnonce) {
        (Some(qop), Some(nc), Some(cnonce)) => Some(QopParams { nc, cnonce, qop }),
        _ => None,
    };
    let expected = digest_response(&ha1, &digest.nonce, qop, &ha2);
    let given = digest.response.to_ascii_lowercase();
    constant_time_eq(expected.as_bytes(), given.as_bytes())
}

/// HMAC of the concatenated `parts`.
fn sign(mac: &Hmac<Md5>, parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = mac.clone();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Splits a nonce into issue time, salt and hex MAC.
fn split_nonce(nonce: &str) -> Option<(u64, u64, &str)> {
    if nonce.len() != 64 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let issued = u64::from_str_radix(&nonce[..16], 16).ok()?;
    let salt = u64::from_str_radix(&nonce[16..32], 16).ok()?;
    Some((issued, salt, &nonce[32..]))
}

/// Whether a Digest uri names the request's resource. Clients may send an
/// absolute URI where the request line has only the path, or vice versa.
fn uri_matches(digest_uri: &str, request_uri: &str) -> bool {
    origin_form(digest_uri) == origin_form(request_uri)
}

/// `/path?query` of a URI, `/` when empty.
fn origin_form(uri: &str) -> &str {
    let without_scheme = match uri.find("://") {
        Some(i) => &uri[i + 3..],
        None => return if uri.is_empty() { "/" } else { uri },
    };
    match without_scheme.find('/') {
        Some(i) => &without_scheme[i..],
        None => "/",
    }
}

fn unix_secs(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::{
        authorization_for, basic_authorization, parse_challenges, AuthScheme, ClientAuth,
    };

    const SECRET: [u8; 32] = [7; 32];

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn passwords(username: &str) -> Option<String> {
        (username == "cpe").then(|| "s3cret".to_owned())
    }

    fn authenticator() -> HttpAuthenticator {
        HttpAuthenticator::new("kube-acs", SECRET).with_nonce_ttl(Duration::from_secs(300))
    }

    fn answer(challenge: &str, password: &str, uri: &str) -> String {
        let auth = ClientAuth {
            username: "cpe",
            password,
            nc: 1,
            cnonce: "0a4f113b",
        };
        authorization_for([challenge], "POST", uri, &auth).unwrap()
    }

    fn challenge_of(outcome: AuthOutcome) -> String {
        match outcome {
            AuthOutcome::Challenge(c) => c,
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    #[test]
    fn challenge_has_required_params() {
        let header = authenticator().challenge_with_nonce("abc", false);
        assert_eq!(
            header,
            format!(
                "Digest realm=\"kube-acs\", qop=\"auth\", nonce=\"abc\", opaque=\"{}\", algorithm=MD5",
                authenticator().opaque()
            )
        );
        let parsed = &parse_challenges(&header)[0];
        assert_eq!(parsed.scheme, AuthScheme::Digest);
        assert!(!parsed.is_stale());
        assert!(parse_challenges(&authenticator().challenge_with_nonce("abc", true))[0].is_stale());
    }

    #[test]
    fn missing_header_gets_challenge() {
        let outcome = authenticator().authenticate(None, "POST", "/", &passwords, at(1000));
        let header = challenge_of(outcome);
        assert!(header.starts_with("Digest realm=\"kube-acs\""), "{header}");
    }

    #[test]
    fn digest_round_trip_authenticates() {
        let auth = authenticator();
        let challenge = auth.challenge(at(1000));
        let header = answer(&challenge, "s3cret", "/cwmp");
        let outcome = auth.authenticate(Some(&header), "POST", "/cwmp", &passwords, at(1010));
        assert_eq!(
            outcome,
            AuthOutcome::Authenticated {
                username: "cpe".into()
            }
        );
    }

    #[test]
    fn wrong_password_is_denied() {
        let auth = authenticator();
        let header = answer(&auth.challenge(at(1000)), "wrong", "/");
        let outcome = auth.authenticate(Some(&header), "POST", "/", &passwords, at(1000));
        assert!(
            matches!(
                outcome,
                AuthOutcome::Denied {
                    reason: DenyReason::BadCredentials(ref u),
                    ..
                } if u == "cpe"
            ),
            "{outcome:?}"
        );
    }

    #[test]
    fn unknown_user_is_denied() {
        let auth = authenticator();
        let header = answer(&auth.challenge(at(1000)), "s3cret", "/");
        let outcome = auth.authenticate(Some(&header), "POST", "/", &|_: &str| None, at(1000));
        assert!(
            matches!(
                outcome,
                AuthOutcome::Denied {
                    reason: DenyReason::UnknownUser(_),
                    ..
                }
            ),
            "{outcome:?}"
        );
    }

    #[test]
    fn expired_nonce_with_right_password_is_stale() {
        let auth = authenticator();
        let header = answer(&auth.challenge(at(1000)), "s3cret", "/");
        let outcome = auth.authenticate(Some(&header), "POST", "/", &passwords, at(1000 + 301));
        let challenge = challenge_of(outcome);
        let parsed = &parse_challenges(&challenge)[0];
        assert!(parsed.is_stale(), "{challenge}");
        // The fresh nonce works.
        let retry = answer(&challenge, "s3cret", "/");
        assert_eq!(
            auth.authenticate(Some(&retry), "POST", "/", &passwords, at(1302)),
            AuthOutcome::Authenticated {
                username: "cpe".into()
            }
        );
    }

    #[test]
    fn expired_nonce_with_wrong_password_is_denied() {
        let auth = authenticator();
        let header = answer(&auth.challenge(at(1000)), "wrong", "/");
        let outcome = auth.authenticate(Some(&header), "POST", "/", &passwords, at(5000));
        assert!(matches!(outcome, AuthOutcome::Denied { .. }), "{outcome:?}");
    }

    #[test]
    fn foreign_nonce_with_right_password_is_rechallenged() {
        let other = HttpAuthenticator::new("kube-acs", [9; 32]);
        let ours = authenticator();
        // Same realm, other secret: the opaque differs too, so drop it.
        let challenge = format!(
            "Digest realm=\"kube-acs\", qop=\"auth\", nonce=\"{}\"",
            other.issue_nonce(at(1000), 1)
        );
        let header = answer(&challenge, "s3cret", "/");
        let outcome = ours.authenticate(Some(&header), "POST", "/", &passwords, at(1000));
        assert!(parse_challenges(&challenge_of(outcome))[0].is_stale());
    }

    #[test]
    fn nonce_status() {
        let auth = authenticator();
        let nonce = auth.issue_nonce(at(1000), 42);
        assert_eq!(nonce.len(), 64);
        assert_eq!(auth.check_nonce(&nonce, at(1000)), NonceStatus::Valid);
        assert_eq!(auth.check_nonce(&nonce, at(1300)), NonceStatus::Valid);
        assert_eq!(auth.check_nonce(&nonce, at(1301)), NonceStatus::Expired);
        // Issued far in the future relative to our clock.
        assert_eq!(auth.check_nonce(&nonce, at(900)), NonceStatus::Unknown);
        let mut tampered = nonce.clone().into_bytes();
        tampered[20] = if tampered[20] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(auth.check_nonce(&tampered, at(1000)), NonceStatus::Unknown);
        assert_eq!(auth.check_nonce("short", at(1000)), NonceStatus::Unknown);
        assert_eq!(
            auth.check_nonce(&"z".repeat(64), at(1000)),
            NonceStatus::Unknown
        );
        // Other realm, same secret: not ours.
        let other = HttpAuthenticator::new("other", SECRET);
        assert_eq!(other.check_nonce(&nonce, at(1000)), NonceStatus::Unknown);
    }

    #[test]
    fn rfc2617_vector_verifies_with_injected_nonce() {
        // The RFC's nonce is not one of ours, so the right password yields a
        // stale challenge, and a wrong one a denial.
        let auth = HttpAuthenticator::new("testrealm@host.com", SECRET);
        let header = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1""#;
        let lookup = |u: &str| (u == "Mufasa").then(|| "Circle Of Life".to_owned());
        let outcome = auth.authenticate(Some(header), "GET", "/dir/index.html", &lookup, at(1000));
        assert!(parse_challenges(&challenge_of(outcome))[0].is_stale());
        let wrong = |_: &str| Some("Circle of life".to_owned());
        let outcome = auth.authenticate(Some(header), "GET", "/dir/index.html", &wrong, at(1000));
        assert!(matches!(outcome, AuthOutcome::Denied { .. }));
    }

    #[test]
    fn rfc2617_vector_with_our_nonce() {
        // Same arithmetic with a nonce we issued: authenticated.
        let auth = HttpAuthenticator::new("testrealm@host.com", SECRET);
        let nonce = auth.issue_nonce(at(1000), 5);
        let ha1 = digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        let qop = QopParams {
            nc: "00000001",
            cnonce: "0a4f113b",
            qop: "auth",
        };
        let response = digest_response(
            &ha1,
            &nonce,
            Some(qop),
            &digest_ha2("GET", "/dir/index.html"),
        );
        let header = format!(
            r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="{nonce}", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="{}""#,
            response.to_uppercase()
        );
        let lookup = |_: &str| Some("Circle Of Life".to_owned());
        assert_eq!(
            auth.authenticate(Some(&header), "GET", "/dir/index.html", &lookup, at(1001)),
            AuthOutcome::Authenticated {
                username: "Mufasa".into()
            }
        );
    }

    #[test]
    fn digest_param_mismatches_are_denied() {
        let auth = authenticator();
        let challenge = auth.challenge(at(1000));
        let good = answer(&challenge, "s3cret", "/");
        let cases = [
            (
                good.replace("realm=\"kube-acs\"", "realm=\"other\""),
                "realm",
            ),
            (good.replace(auth.opaque(), "deadbeef"), "opaque"),
            (good.replace("qop=auth", "qop=auth-int"), "qop"),
            (
                good.replace("algorithm=MD5", "algorithm=SHA-256"),
                "algorithm",
            ),
        ];
        for (header, what) in cases {
            let outcome = auth.authenticate(Some(&header), "POST", "/", &passwords, at(1000));
            assert!(
                matches!(outcome, AuthOutcome::Denied { .. }),
                "{what}: {outcome:?}"
            );
        }
        let outcome = auth.authenticate(Some(&good), "POST", "/other", &passwords, at(1000));
        assert!(
            matches!(
                outcome,
                AuthOutcome::Denied {
                    reason: DenyReason::UriMismatch { .. },
                    ..
                }
            ),
            "{outcome:?}"
        );
    }

    #[test]
    fn absolute_digest_uri_matches_path() {
        assert!(uri_matches("http://acs.example:7547/cwmp?a=1", "/cwmp?a=1"));
        assert!(uri_matches("/", ""));
        assert!(uri_matches("http://acs.example", "/"));
        assert!(!uri_matches("/cwmp", "/other"));
    }

    #[test]
    fn missing_opaque_and_qop_are_tolerated() {
        // Old (RFC 2069) clients send neither qop nor opaque.
        let auth = authenticator();
        let nonce = auth.issue_nonce(at(1000), 3);
        let header = answer(
            &format!("Digest realm=\"kube-acs\", nonce=\"{nonce}\""),
            "s3cret",
            "/",
        );
        assert!(!header.contains("qop"));
        assert_eq!(
            auth.authenticate(Some(&header), "POST", "/", &passwords, at(1000)),
            AuthOutcome::Authenticated {
                username: "cpe".into()
            }
        );
    }

    #[test]
    fn basic_acceptance_follows_schemes() {
        let header = basic_authorization("cpe", "s3cret");
        let digest_only = authenticator();
        let outcome = digest_only.authenticate(Some(&header), "POST", "/", &passwords, at(1000));
        assert!(
            matches!(
                outcome,
                AuthOutcome::Denied {
                    reason: DenyReason::SchemeNotAccepted,
                    ..
                }
            ),
            "{outcome:?}"
        );

        let both = authenticator().with_schemes(AcceptedSchemes::DigestOrBasic);
        assert_eq!(
            both.authenticate(Some(&header), "POST", "/", &passwords, at(1000)),
            AuthOutcome::Authenticated {
                username: "cpe".into()
            }
        );
        // Challenges stay Digest when Digest is accepted.
        assert!(
            challenge_of(both.authenticate(None, "POST", "/", &passwords, at(1000)))
                .starts_with("Digest ")
        );

        let basic = authenticator().with_schemes(AcceptedSchemes::BasicOnly);
        assert_eq!(
            challenge_of(basic.authenticate(None, "POST", "/", &passwords, at(1000))),
            "Basic realm=\"kube-acs\""
        );
        let wrong = basic_authorization("cpe", "nope");
        assert!(matches!(
            basic.authenticate(Some(&wrong), "POST", "/", &passwords, at(1000)),
            AuthOutcome::Denied {
                reason: DenyReason::BadCredentials(_),
                ..
            }
        ));
        let digest = answer(&both.challenge(at(1000)), "s3cret", "/");
        assert!(matches!(
            basic.authenticate(Some(&digest), "POST", "/", &passwords, at(1000)),
            AuthOutcome::Denied {
                reason: DenyReason::SchemeNotAccepted,
                ..
            }
        ));
    }

    #[test]
    fn malformed_headers_are_denied_not_panicking() {
        let auth = authenticator();
        for header in [
            "Digest",
            "Digest username=",
            "Basic ****",
            "Bearer x",
            "\u{1F600}",
        ] {
            let outcome = auth.authenticate(Some(header), "POST", "/", &passwords, at(1000));
            assert!(
                matches!(
                    outcome,
                    AuthOutcome::Denied {
                        reason: DenyReason::Malformed(_),
                        ..
                    }
                ),
                "{header}: {outcome:?}"
            );
        }
        // Blank header: treated as absent.
        let outcome = auth.authenticate(Some("  "), "POST", "/", &passwords, at(1000));
        assert!(matches!(outcome, AuthOutcome::Challenge(_)));
    }

    #[test]
    fn verify_supports_async_lookup_style() {
        let auth = authenticator();
        let header = answer(&auth.challenge(at(1000)), "s3cret", "/");
        let credentials = parse_authorization(&header).unwrap();
        assert_eq!(credentials.username(), "cpe");
        assert_eq!(
            auth.verify(&credentials, "POST", "/", Some("s3cret"), at(1000)),
            AuthOutcome::Authenticated {
                username: "cpe".into()
            }
        );
    }

    #[test]
    fn debug_hides_secret() {
        let text = format!("{:?}", authenticator());
        assert!(text.contains("kube-acs"));
        assert!(!text.contains("mac"));
    }
}

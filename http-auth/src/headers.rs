//! HTTP Basic and Digest authentication: wire format and arithmetic shared by
//! both sides.
//!
//! * Parsing of `WWW-Authenticate` challenges ([`parse_challenges`]) and of
//!   `Authorization` credentials ([`parse_authorization`]), tolerant of the
//!   variations real CPE firmware produces (quoted or bare values, commas
//!   inside quotes, odd whitespace, any case for scheme and parameter names).
//! * Digest arithmetic (RFC 2617 / RFC 7616, MD5, `qop=auth`):
//!   [`digest_ha1`], [`digest_ha2`], [`digest_response`].
//! * The client side: [`authorization_for`] answers a 401's challenges with an
//!   `Authorization` header value (Digest preferred over Basic).
//!
//! The server side, which issues challenges and checks credentials, lives in
//! [`crate::server`].

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use md5::{Digest, Md5};
use rand::RngCore;

/// An authentication scheme named in a `WWW-Authenticate` or `Authorization`
/// header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthScheme {
    /// RFC 7617 Basic.
    Basic,
    /// RFC 7616 Digest.
    Digest,
    /// Any other scheme, as written in the header.
    Other(String),
}

impl AuthScheme {
    fn from_token(token: &str) -> Self {
        if token.eq_ignore_ascii_case("basic") {
            AuthScheme::Basic
        } else if token.eq_ignore_ascii_case("digest") {
            AuthScheme::Digest
        } else {
            AuthScheme::Other(token.to_owned())
        }
    }
}

/// One challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The challenge's scheme.
    pub scheme: AuthScheme,
    /// Parameters in header order; names are lower-cased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (case-insensitive); the first one wins.
    pub fn param(&self, name: &str) -> Option<&str> {
        find_param(&self.params, name)
    }

    /// Whether this challenge carries `stale=true` (the nonce expired, the
    /// credentials were right: retry with the new nonce).
    pub fn is_stale(&self) -> bool {
        self.param("stale")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// Credentials from an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Basic `username:password`.
    Basic {
        /// The user name.
        username: String,
        /// The clear-text password.
        password: String,
    },
    /// Digest response parameters.
    Digest(DigestCredentials),
}

impl Credentials {
    /// The user name the client claims.
    pub fn username(&self) -> &str {
        match self {
            Credentials::Basic { username, .. } => username,
            Credentials::Digest(digest) => &digest.username,
        }
    }
}

/// The parameters of a Digest `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`, as issued by the server.
    pub nonce: String,
    /// `uri`, the digest-uri the client hashed.
    pub uri: String,
    /// `response`, the hex digest.
    pub response: String,
    /// `algorithm`, if sent.
    pub algorithm: Option<String>,
    /// `qop`, if sent (then `nc` and `cnonce` are present too).
    pub qop: Option<String>,
    /// `nc`, the nonce count, as 8 hex digits.
    pub nc: Option<String>,
    /// `cnonce`, the client nonce.
    pub cnonce: Option<String>,
    /// `opaque`, echoed from the challenge.
    pub opaque: Option<String>,
}

/// Why an `Authorization` header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthParseError {
    /// The header is empty.
    #[error("empty Authorization header")]
    Empty,
    /// The scheme is neither Basic nor Digest.
    #[error("unsupported authentication scheme {0:?}")]
    UnsupportedScheme(String),
    /// Basic credentials that are not base64 of `user:password` in UTF-8.
    #[error("malformed Basic credentials")]
    InvalidBasic,
    /// A required Digest parameter is missing.
    #[error("Digest credentials lack the {0:?} parameter")]
    MissingParam(&'static str),
    /// A Digest parameter has an impossible value.
    #[error("Digest credentials have an invalid {0:?} parameter")]
    InvalidParam(&'static str),
}

/// Why no `Authorization` header could be made for a 401 response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientAuthError {
    /// The response carried no `WWW-Authenticate` challenge at all.
    #[error("the 401 response carried no WWW-Authenticate challenge")]
    NoChallenge,
    /// Challenges were offered, but none we can answer.
    #[error("no supported authentication challenge offered ({0})")]
    Unsupported(String),
}

/// What the client needs to answer a challenge.
#[derive(Debug, Clone, Copy)]
pub struct ClientAuth<'a> {
    /// User name to send.
    pub username: &'a str,
    /// Password to prove.
    pub password: &'a str,
    /// Nonce count for Digest with qop (1 for the first use of a nonce).
    pub nc: u32,
    /// Client nonce for Digest with qop; see [`new_cnonce`].
    pub cnonce: &'a str,
}

/// Parses every challenge in one `WWW-Authenticate` header value, e.g.
/// `Basic realm="a", Digest realm="b", qop="auth", nonce="n"`.
///
/// Never fails: unparseable fragments are skipped.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut cursor = Cursor::new(header);
    let mut challenges = Vec::new();
    loop {
        cursor.skip_separators();
        if cursor.at_end() {
            break;
        }
        let Some(scheme) = cursor.read_token() else {
            cursor.bump();
            continue;
        };
        let params = cursor.read_params();
        challenges.push(Challenge {
            scheme: AuthScheme::from_token(scheme),
            params,
        });
    }
    challenges
}

/// Parses an `Authorization` header value carrying Basic or Digest
/// credentials.
pub fn parse_authorization(header: &str) -> Result<Credentials, AuthParseError> {
    let mut cursor = Cursor::new(header);
    cursor.skip_whitespace();
    let scheme = cursor.read_token().ok_or(AuthParseError::Empty)?;
    match AuthScheme::from_token(scheme) {
        AuthScheme::Basic => parse_basic_credentials(cursor.rest().trim()),
        AuthScheme::Digest => {
            parse_digest_credentials(&cursor.read_params()).map(Credentials::Digest)
        }
        AuthScheme::Other(other) => Err(AuthParseError::UnsupportedScheme(other)),
    }
}

fn parse_basic_credentials(token68: &str) -> Result<Credentials, AuthParseError> {
    let decoded = STANDARD
        .decode(token68)
        .or_else(|_| STANDARD_NO_PAD.decode(token68.trim_end_matches('=')))
        .map_err(|_| AuthParseError::InvalidBasic)?;
    let text = String::from_utf8(decoded).map_err(|_| AuthParseError::InvalidBasic)?;
    let (username, password) = text.split_once(':').ok_or(AuthParseError::InvalidBasic)?;
    Ok(Credentials::Basic {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

fn parse_digest_credentials(
    params: &[(String, String)],
) -> Result<DigestCredentials, AuthParseError> {
    let required = |name: &'static str| {
        find_param(params, name)
            .map(str::to_owned)
            .ok_or(AuthParseError::MissingParam(name))
    };
    let optional = |name: &str| find_param(params, name).map(str::to_owned);
    let credentials = DigestCredentials {
        username: required("username")?,
        realm: required("realm")?,
        nonce: required("nonce")?,
        uri: required("uri")?,
        response: required("response")?,
        algorithm: optional("algorithm"),
        qop: optional("qop"),
        nc: optional("nc"),
        cnonce: optional("cnonce"),
        opaque: optional("opaque"),
    };
    if credentials.qop.is_some() {
        let nc = credentials
            .nc
            .as_deref()
            .ok_or(AuthParseError::MissingParam("nc"))?;
        if parse_nonce_count(nc).is_none() {
            return Err(AuthParseError::InvalidParam("nc"));
        }
        if credentials.cnonce.is_none() {
            return Err(AuthParseError::MissingParam("cnonce"));
        }
    }
    Ok(credentials)
}

/// Parses a Digest `nc` value (8 hex digits; tolerant of other lengths).
pub fn parse_nonce_count(nc: &str) -> Option<u32> {
    if nc.is_empty() || nc.len() > 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(nc, 16).ok()
}

/// Lower-case hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    to_hex(&Md5::digest(data))
}

/// Digest `HA1 = MD5(username:realm:password)`.
pub fn digest_ha1(username: &str, realm: &str, password: &str) -> String {
    md5_hex(format!("{username}:{realm}:{password}").as_bytes())
}

/// Digest `HA1` for `algorithm=MD5-sess`: `MD5(MD5(user:realm:pass):nonce:cnonce)`.
pub fn digest_ha1_sess(ha1: &str, nonce: &str, cnonce: &str) -> String {
    md5_hex(format!("{ha1}:{nonce}:{cnonce}").as_bytes())
}

/// Digest `HA2 = MD5(method:uri)` (qop `auth` or none).
pub fn digest_ha2(method: &str, uri: &str) -> String {
    md5_hex(format!("{method}:{uri}").as_bytes())
}

/// The `qop` part of a Digest response computation.
#[derive(Debug, Clone, Copy)]
pub struct QopParams<'a> {
    /// `nc`, exactly as sent on the wire (8 hex digits).
    pub nc: &'a str,
    /// `cnonce`.
    pub cnonce: &'a str,
    /// `qop`, e.g. `auth`.
    pub qop: &'a str,
}

/// The Digest `response`: `MD5(HA1:nonce:nc:cnonce:qop:HA2)` with qop, or the
/// RFC 2069 `MD5(HA1:nonce:HA2)` without.
pub fn digest_response(ha1: &str, nonce: &str, qop: Option<QopParams<'_>>, ha2: &str) -> String {
    let input = match qop {
        Some(q) => format!("{ha1}:{nonce}:{}:{}:{}:{ha2}", q.nc, q.cnonce, q.qop),
        None => format!("{ha1}:{nonce}:{ha2}"),
    };
    md5_hex(input.as_bytes())
}

/// The `Authorization` value for Basic credentials.
pub fn basic_authorization(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{password}"))
    )
}

/// A `WWW-Authenticate` value asking for Basic credentials.
pub fn basic_challenge(realm: &str) -> String {
    format!("Basic realm={}", quote(realm))
}

/// A fresh random client nonce (16 hex digits).
pub fn new_cnonce() -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    to_hex(&bytes)
}

/// Answers the challenges of a 401 response (one string per
/// `WWW-Authenticate` header) with an `Authorization` header value for a
/// request `method uri`. Digest is preferred when offered, Basic otherwise.
pub fn authorization_for<'h>(
    www_authenticate: impl IntoIterator<Item = &'h str>,
    method: &str,
    uri: &str,
    auth: &ClientAuth<'_>,
) -> Result<String, ClientAuthError> {
    let challenges: Vec<Challenge> = www_authenticate
        .into_iter()
        .flat_map(parse_challenges)
        .collect();
    authorization_for_challenges(&challenges, method, uri, auth)
}

/// Like [`authorization_for`], for challenges already parsed.
pub fn authorization_for_challenges(
    challenges: &[Challenge],
    method: &str,
    uri: &str,
    auth: &ClientAuth<'_>,
) -> Result<String, ClientAuthError> {
    if challenges.is_empty() {
        return Err(ClientAuthError::NoChallenge);
    }
    let digest = challenges
        .iter()
        .filter(|c| c.scheme == AuthScheme::Digest)
        .find_map(|c| answer_digest(c, method, uri, auth));
    if let Some(header) = digest {
        return Ok(header);
    }
    if challenges.iter().any(|c| c.scheme == AuthScheme::Basic) {
        return Ok(basic_authorization(auth.username, auth.password));
    }
    Err(ClientAuthError::Unsupported(describe_challenges(
        challenges,
    )))
}

fn describe_challenges(challenges: &[Challenge]) -> String {
    let names: Vec<String> = challenges
        .iter()
        .map(|c| match &c.scheme {
            AuthScheme::Basic => "Basic".to_owned(),
            AuthScheme::Digest => format!(
                "Digest algorithm={} qop={}",
                c.param("algorithm").unwrap_or("MD5"),
                c.param("qop").unwrap_or("none")
            ),
            AuthScheme::Other(name) => name.clone(),
        })
        .collect();
    names.join(", ")
}

/// Which Digest algorithm a challenge asks for, if we support it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DigestAlgorithm {
    Md5,
    Md5Sess,
}

fn supported_algorithm(challenge: &Challenge) -> Option<DigestAlgorithm> {
    match challenge.param("algorithm") {
        None => Some(DigestAlgorithm::Md5),
        Some(a) if a.eq_ignore_ascii_case("MD5") => Some(DigestAlgorithm::Md5),
        Some(a) if a.eq_ignore_ascii_case("MD5-sess") => Some(DigestAlgorithm::Md5Sess),
        Some(_) => None,
    }
}

/// `Some(true)` for qop=auth, `Some(false)` for no qop (RFC 2069), `None`
/// when only unsupported qops (auth-int) are offered.
fn offers_qop_auth(challenge: &Challenge) -> Option<bool> {
    match challenge.param("qop") {
        None => Some(false),
        Some(list) => list
            .split(',')
            .any(|q| q.trim().eq_ignore_ascii_case("auth"))
            .then_some(true),
    }
}

fn answer_digest(
    challenge: &Challenge,
    method: &str,
    uri: &str,
    auth: &ClientAuth<'_>,
) -> Option<String> {
    let algorithm = supported_algorithm(challenge)?;
    let use_qop = offers_qop_auth(challenge)?;
    let realm = challenge.param("realm").unwrap_or("");
    let nonce = challenge.param("nonce")?;
    let nc = format!("{:08x}", auth.nc);
    let mut ha1 = digest_ha1(auth.username, realm, auth.password);
    if algorithm == DigestAlgorithm::Md5Sess {
        ha1 = digest_ha1_sess(&ha1, nonce, auth.cnonce);
    }
    let qop = use_qop.then_some(QopParams {
        nc: &nc,
        cnonce: auth.cnonce,
        qop: "auth",
    });
    let response = digest_response(&ha1, nonce, qop, &digest_ha2(method, uri));

    let mut header = format!(
        "Digest username={}, realm={}, nonce={}, uri={}",
        quote(auth.username),
        quote(realm),
        quote(nonce),
        quote(uri)
    );
    if let Some(algorithm) = challenge.param("algorithm") {
        header.push_str(&format!(", algorithm={algorithm}"));
    }
    header.push_str(&format!(", response=\"{response}\""));
    if use_qop {
        header.push_str(&format!(
            ", qop=auth, nc={nc}, cnonce={}",
            quote(auth.cnonce)
        ));
    }
    if let Some(opaque) = challenge.param("opaque") {
        header.push_str(&format!(", opaque={}", quote(opaque)));
    }
    Some(header)
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Renders `value` as an HTTP quoted-string.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Lower-case hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

fn find_param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A byte cursor over a header value, implementing the RFC 7235 grammar
/// leniently.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    /// Skips one character (the whole UTF-8 sequence).
    fn bump(&mut self) {
        if let Some(c) = self.text[self.pos..].chars().next() {
            self.pos += c.len_utf8();
        }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n' | b',')) {
            self.pos += 1;
        }
    }

    fn read_token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.text[start..self.pos])
    }

    /// Reads `name=value` pairs until the input ends or a token that is not
    /// followed by `=` (the next challenge's scheme) appears.
    fn read_params(&mut self) -> Vec<(String, String)> {
        let mut params = Vec::new();
        loop {
            let before = self.pos;
            self.skip_separators();
            if self.at_end() {
                break;
            }
            let Some(name) = self.read_token() else {
                // Garbage such as a stray quote: skip it.
                self.bump();
                continue;
            };
            self.skip_whitespace();
            if self.peek() != Some(b'=') {
                self.pos = before;
                break;
            }
            self.pos += 1;
            self.skip_whitespace();
            let value = self.read_value();
            params.push((name.to_ascii_lowercase(), value));
        }
        params
    }

    /// A quoted-string (unescaped) or a bare value up to `,` or whitespace.
    fn read_value(&mut self) -> String {
        if self.peek() == Some(b'"') {
            self.pos += 1;
            return self.read_quoted_rest();
        }
        let start = self.pos;
        while !matches!(
            self.peek(),
            None | Some(b',' | b' ' | b'\t' | b'\r' | b'\n')
        ) {
            self.pos += 1;
        }
        self.text[start..self.pos].to_owned()
    }

    /// After an opening quote: up to the closing quote (or the end).
    fn read_quoted_rest(&mut self) -> String {
        let mut value = Vec::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        value.push(escaped);
                        self.pos += 1;
                    }
                }
                _ => value.push(b),
            }
        }
        String::from_utf8_lossy(&value).into_owned()
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EASYCWMP_CHALLENGE: &str = r#"Digest realm="realm@easycwmp",qop="auth",nonce="3a3d0a4fddf8063a1de3f1f42ad9cbdb00000c93",opaque="328458fab28345ae87ab3210a8513b14eff452a2""#;
    const EASYCWMP_AUTHORIZATION: &str = r#"Digest username="FFFFFF-easycwmp-SCOUT000001",realm="realm@easycwmp",nonce="3a3d0a4fddf8063a1de3f1f42ad9cbdb00000c93",uri="/",qop=auth,nc=00000001,cnonce="fa0854d26ae648e9",response="b2951dc944501cb2e6b13da4350ea028",opaque="328458fab28345ae87ab3210a8513b14eff452a2""#;

    #[test]
    fn rfc2617_example_response() {
        let ha1 = digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        let ha2 = digest_ha2("GET", "/dir/index.html");
        let qop = QopParams {
            nc: "00000001",
            cnonce: "0a4f113b",
            qop: "auth",
        };
        let response = digest_response(&ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", Some(qop), &ha2);
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn rfc2617_example_client_header() {
        let challenge = r#"Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let auth = ClientAuth {
            username: "Mufasa",
            password: "Circle Of Life",
            nc: 1,
            cnonce: "0a4f113b",
        };
        let header = authorization_for([challenge], "GET", "/dir/index.html", &auth).unwrap();
        let Credentials::Digest(d) = parse_authorization(&header).unwrap() else {
            panic!("not digest: {header}");
        };
        assert_eq!(d.response, "6629fae49393a05397450978507c4ef1");
        assert_eq!(d.username, "Mufasa");
        assert_eq!(d.realm, "testrealm@host.com");
        assert_eq!(d.uri, "/dir/index.html");
        assert_eq!(d.qop.as_deref(), Some("auth"));
        assert_eq!(d.nc.as_deref(), Some("00000001"));
        assert_eq!(d.cnonce.as_deref(), Some("0a4f113b"));
        assert_eq!(
            d.opaque.as_deref(),
            Some("5ccc069c403ebaf9f0171e9517f40e41")
        );
        assert_eq!(d.algorithm, None);
    }

    #[test]
    fn rfc2069_response_without_qop() {
        // RFC 2069 example (value as corrected by its errata): MD5(HA1:nonce:HA2).
        let ha1 = digest_ha1("Mufasa", "testrealm@host.com", "CircleOfLife");
        let ha2 = digest_ha2("GET", "/dir/index.html");
        let response = digest_response(&ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", None, &ha2);
        assert_eq!(response, "1949323746fe6a43ef61f9606e7febea");
    }

    #[test]
    fn parses_easycwmp_challenge() {
        let challenges = parse_challenges(EASYCWMP_CHALLENGE);
        assert_eq!(challenges.len(), 1);
        let c = &challenges[0];
        assert_eq!(c.scheme, AuthScheme::Digest);
        assert_eq!(c.param("realm"), Some("realm@easycwmp"));
        assert_eq!(c.param("qop"), Some("auth"));
        assert_eq!(
            c.param("nonce"),
            Some("3a3d0a4fddf8063a1de3f1f42ad9cbdb00000c93")
        );
        assert_eq!(
            c.param("opaque"),
            Some("328458fab28345ae87ab3210a8513b14eff452a2")
        );
        assert!(!c.is_stale());
    }

    #[test]
    fn parses_easycwmp_authorization() {
        let Credentials::Digest(d) = parse_authorization(EASYCWMP_AUTHORIZATION).unwrap() else {
            panic!("not digest");
        };
        assert_eq!(d.username, "FFFFFF-easycwmp-SCOUT000001");
        assert_eq!(d.realm, "realm@easycwmp");
        assert_eq!(d.nonce, "3a3d0a4fddf8063a1de3f1f42ad9cbdb00000c93");
        assert_eq!(d.uri, "/");
        assert_eq!(d.qop.as_deref(), Some("auth"));
        assert_eq!(d.nc.as_deref(), Some("00000001"));
        assert_eq!(d.cnonce.as_deref(), Some("fa0854d26ae648e9"));
        assert_eq!(d.response, "b2951dc944501cb2e6b13da4350ea028");
        assert_eq!(
            d.opaque.as_deref(),
            Some("328458fab28345ae87ab3210a8513b14eff452a2")
        );
    }

    #[test]
    fn client_answer_to_easycwmp_matches_capture_shape() {
        // The capture's password is unknown ("", "easycwmp", "password" and
        // the user name all give other responses), so only the non-secret
        // fields can be compared.
        let auth = ClientAuth {
            username: "FFFFFF-easycwmp-SCOUT000001",
            password: "unknown",
            nc: 1,
            cnonce: "fa0854d26ae648e9",
        };
        let ours = authorization_for([EASYCWMP_CHALLENGE], "GET", "/", &auth).unwrap();
        let Credentials::Digest(ours) = parse_authorization(&ours).unwrap() else {
            panic!("not digest");
        };
        let Credentials::Digest(theirs) = parse_authorization(EASYCWMP_AUTHORIZATION).unwrap()
        else {
            panic!("not digest");
        };
        assert_eq!(
            DigestCredentials {
                response: theirs.response.clone(),
                ..ours
            },
            theirs
        );
    }

    #[test]
    fn candidate_passwords_do_not_match_easycwmp_capture() {
        let ha2 = digest_ha2("GET", "/");
        let qop = QopParams {
            nc: "00000001",
            cnonce: "fa0854d26ae648e9",
            qop: "auth",
        };
        for password in ["", "easycwmp", "password", "FFFFFF-easycwmp-SCOUT000001"] {
            let ha1 = digest_ha1("FFFFFF-easycwmp-SCOUT000001", "realm@easycwmp", password);
            let response = digest_response(
                &ha1,
                "3a3d0a4fddf8063a1de3f1f42ad9cbdb00000c93",
                Some(qop),
                &ha2,
            );
            assert_ne!(response, "b2951dc944501cb2e6b13da4350ea028", "{password:?}");
        }
    }

    #[test]
    fn parses_multiple_challenges_in_one_header() {
        let header = r#"Basic realm="basic, realm", DIGEST Realm = "d" , QOP="auth,auth-int",nonce=abc123, stale=TRUE"#;
        let challenges = parse_challenges(header);
        assert_eq!(challenges.len(), 2);
        assert_eq!(challenges[0].scheme, AuthScheme::Basic);
        assert_eq!(challenges[0].param("realm"), Some("basic, realm"));
        assert_eq!(challenges[1].scheme, AuthScheme::Digest);
        assert_eq!(challenges[1].param("realm"), Some("d"));
        assert_eq!(challenges[1].param("qop"), Some("auth,auth-int"));
        assert_eq!(challenges[1].param("nonce"), Some("abc123"));
        assert!(challenges[1].is_stale());
    }

    #[test]
    fn parses_escapes_and_unterminated_quotes() {
        let c = parse_challenges(r#"Digest realm="a \"quoted\" \\ realm", nonce="unterminated"#);
        assert_eq!(c[0].param("realm"), Some(r#"a "quoted" \ realm"#));
        assert_eq!(c[0].param("nonce"), Some("unterminated"));
    }

    #[test]
    fn garbage_challenges_do_not_panic() {
        for header in [
            "",
            ",,,",
            "\"",
            "=",
            "Digest =",
            "Digest realm",
            "Digest realm=",
            "é Digest ü=ö",
        ] {
            let _ = parse_challenges(header);
            let _ = parse_authorization(header);
        }
    }

    #[test]
    fn parses_unquoted_digest_values() {
        let header = "digest USERNAME=bob, realm=r, nonce=n, uri=/cwmp?x=1, response=ABC, qop=auth, nc=1, cnonce=c";
        let Credentials::Digest(d) = parse_authorization(header).unwrap() else {
            panic!("not digest");
        };
        assert_eq!(d.username, "bob");
        assert_eq!(d.uri, "/cwmp?x=1");
        assert_eq!(d.response, "ABC");
        assert_eq!(d.nc.as_deref(), Some("1"));
    }

    #[test]
    fn rejects_incomplete_digest() {
        assert_eq!(
            parse_authorization(r#"Digest username="u", realm="r", nonce="n", uri="/""#),
            Err(AuthParseError::MissingParam("response"))
        );
        assert_eq!(
            parse_authorization(
                r#"Digest username="u", realm="r", nonce="n", uri="/", response="x", qop=auth, cnonce="c""#
            ),
            Err(AuthParseError::MissingParam("nc"))
        );
        assert_eq!(
            parse_authorization(
                r#"Digest username="u", realm="r", nonce="n", uri="/", response="x", qop=auth, nc=zz, cnonce="c""#
            ),
            Err(AuthParseError::InvalidParam("nc"))
        );
    }

    #[test]
    fn basic_round_trip() {
        let header = basic_authorization("Aladdin", "open sesame");
        assert_eq!(header, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(
            parse_authorization("basic   QWxhZGRpbjpvcGVuIHNlc2FtZQ").unwrap(),
            Credentials::Basic {
                username: "Aladdin".into(),
                password: "open sesame".into()
            }
        );
        assert_eq!(
            parse_authorization("Basic !!!"),
            Err(AuthParseError::InvalidBasic)
        );
        assert_eq!(
            parse_authorization("Basic bm9jb2xvbg=="),
            Err(AuthParseError::InvalidBasic)
        );
        assert_eq!(
            parse_authorization("Bearer abc"),
            Err(AuthParseError::UnsupportedScheme("Bearer".into()))
        );
    }

    #[test]
    fn client_prefers_digest_over_basic() {
        let auth = ClientAuth {
            username: "u",
            password: "p",
            nc: 1,
            cnonce: "c",
        };
        let header = authorization_for(
            [
                r#"Basic realm="x""#,
                r#"Digest realm="x", nonce="n", qop="auth""#,
            ],
            "GET",
            "/",
            &auth,
        )
        .unwrap();
        assert!(header.starts_with("Digest "), "{header}");

        let basic = authorization_for([r#"Basic realm="x""#], "GET", "/", &auth).unwrap();
        assert_eq!(basic, basic_authorization("u", "p"));
    }

    #[test]
    fn client_skips_unsupported_digest() {
        let auth = ClientAuth {
            username: "u",
            password: "p",
            nc: 1,
            cnonce: "c",
        };
        let only_sha = r#"Digest realm="x", nonce="n", qop="auth", algorithm=SHA-256"#;
        assert!(matches!(
            authorization_for([only_sha], "GET", "/", &auth),
            Err(ClientAuthError::Unsupported(_))
        ));
        let with_basic = [only_sha, r#"Basic realm="x""#];
        assert_eq!(
            authorization_for(with_basic, "GET", "/", &auth).unwrap(),
            basic_authorization("u", "p")
        );
        assert_eq!(
            authorization_for(std::iter::empty(), "GET", "/", &auth),
            Err(ClientAuthError::NoChallenge)
        );
    }

    #[test]
    fn client_supports_md5_sess_and_no_qop() {
        let auth = ClientAuth {
            username: "u",
            password: "p",
            nc: 2,
            cnonce: "c",
        };
        let header = authorization_for(
            [r#"Digest realm="r", nonce="n", qop="auth", algorithm=MD5-sess"#],
            "GET",
            "/",
            &auth,
        )
        .unwrap();
        let ha1 = digest_ha1_sess(&digest_ha1("u", "r", "p"), "n", "c");
        let qop = QopParams {
            nc: "00000002",
            cnonce: "c",
            qop: "auth",
        };
        let expected = digest_response(&ha1, "n", Some(qop), &digest_ha2("GET", "/"));
        assert!(header.contains(&expected), "{header}");
        assert!(header.contains("algorithm=MD5-sess"), "{header}");

        let plain =
            authorization_for([r#"Digest realm="r", nonce="n""#], "GET", "/", &auth).unwrap();
        let expected = digest_response(
            &digest_ha1("u", "r", "p"),
            "n",
            None,
            &digest_ha2("GET", "/"),
        );
        assert!(plain.contains(&expected), "{plain}");
        assert!(!plain.contains("qop"), "{plain}");
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        let c = parse_challenges(&format!("Digest realm={}", quote(r#"a"b\c"#)));
        assert_eq!(c[0].param("realm"), Some(r#"a"b\c"#));
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn nonce_count_parsing() {
        assert_eq!(parse_nonce_count("00000001"), Some(1));
        assert_eq!(parse_nonce_count("0000000a"), Some(10));
        assert_eq!(parse_nonce_count(""), None);
        assert_eq!(parse_nonce_count("000000001"), None);
        assert_eq!(parse_nonce_count("+1"), None);
    }
}

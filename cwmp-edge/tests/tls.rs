//! End-to-end checks of `cwmp_edge::tls`: load PEM files, serve HTTPS with
//! hyper behind `tokio_rustls::TlsAcceptor` on loopback, and request it with
//! a rustls client that trusts only the test certificate.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use cwmp_edge::tls::{load_server_config, server_config_from_pem, TlsError};
use http_body_util::{BodyExt, Empty, Full};
use hyper::header::HOST;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// A 2048-bit RSA key in PKCS#1 form (`BEGIN RSA PRIVATE KEY`) and a
/// self-signed certificate for it, made with `openssl genrsa -traditional`
/// and `openssl req -x509`. Test-only material; used to check that RSA keys
/// load (rcgen with ring cannot generate RSA keys).
const RSA_PKCS1_KEY: &str = r"-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA35R4cQo2lIK0EObsKEK1V44GTvYDuZKBY++MqUYgfaZ3Xnfp
OvsadkmZhbaoXkQ0vaa3oZwU8N34Ntg7/iAF/XoZprkze9Q4zbKxi7a/LFS4WTkE
BoLVyib5fOB9WPdxTxm4PY8SI5VSv7Xg0mQKDkRoQOo3MfPt1kWaqIdezAMMo57b
ltmz5cCurEWaN2KNxWjo34WxdRe0NFxVs+V4m/9f2J1VuQA4Ee0QD9nR+2CI9Sk+
/PrHjijc3cFeZOyDvI5DepmibLedRE+fScgDYsNRKitPkygzYJqvwGjoJRRdh1Ca
vlC+YTUaiMNNoNk59Tnr/yh3X5T8SZ+NmklMoQIDAQABAoIBAD368sijhC33beOh
oKYomA0FmkoZeT7glm4V4nCquCcdFsphg46OPe+8x4qB8HrxfY11wkJS+psrbbwG
hdsVFZQHXUUS4mrZkkWz2/RXXPf1JIXXgH4tlwbLdy5fLWCUeBztjF3EY8rpgl8T
FJg+k2sRG7WjOFnovW5BLXa60FTNnsrgSAlb8OmlPJWQC0y2yuDnsfdFCCkLpVQ7
QNmw0yNDcxtiP5UTFUW7WVmhTScx89h6AksNQ3/jGpLumLAacTUypdfu9lo3kDgN
mlLwpAtFw+Hi5gY4awLAuIsXQWEq5AIbPgkhoEu8XjirWPVvE6z4lNjZkTcdD3dL
9Cf4UeECgYEA+5xaSiLnoAkD8tTLLT4BepIjkCgZ9uWy7o/+7fd3DLFOtgk7FUMR
qma4Fmk4aN2Us6mB8zQv85cLZh9N3wRp3oFTcOo2oHKoONsXWihlVJHeZ0GUM9Dj
RhZwAy1WzUQB60cVDxNNk8howrA/F886T/1mDpwa/wKs3AfRwgub2R8CgYEA43rv
+54MiT5iPW/RcBA7p+PDVVlr9lTyt3C6ceyngWPHAYbwPo3KyUoHVZCclJ8a7HuX
lpAY96By4A6yAmHugWPBtlih7sv8FPHfvzRk86LgaqVsRiDBW9Qz++ExRFs03g8Y
QqxB0l6txFRhPglrYfbAyd1+uvlk7u89kgMPYj8CgYEA2Hln0TsAr1ayV/0upUkg
upT7Fe76j8qGTOwEuDZd7cSq5MFCXQOsMkBYB6gViVuCsaSYEmeHDfuZKg6qz8Kb
V31LDe3ke9zJ0Mjm6YGx1LX/dDUezgndUBLD4mfis43cXNF2U9cWupwFTeOXFOQM
1n88jDtQmrBxiokLtfiI6J8CgYA+PuyeEGBjyaM+JnPL01VPmn5fw2lMbXBBC+Ko
u9YWDMRuwYrJwyjjLZOWMUz3ShYm8abIN0PttoTYlIzXJA8MbsyZ5eThoAWpgYn1
GxQoqr/3zq4y/lGKnCVhXfyKNN7hiIXd8J7OPsQTvfch75fnpYqZcjd0WDvrOaHC
a33xJwKBgGLiCGABdbikFE2VhdOAPp0fjy2QrvMK5GHttxKgZTzhejr1jO7Yg4jv
SV+/CYcjcc2ihZQ32DCSpyBedO5qN/CJ5RyBvii6gzqqH3n0AHxQHsF2fq8xlM2M
n//uXi7mO/8ypaH47/vWG3hjFXvUqM++sdzEXwMNMX0Oa65JqNv5
-----END RSA PRIVATE KEY-----
";
const RSA_CERT: &str = r"-----BEGIN CERTIFICATE-----
MIIDRTCCAi2gAwIBAgIUWLPyZiky32gMkXPjuBlOTLOUdwYwDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNTAyMzcyM1oYDzIxMjYx
MTAxMDIzNzIzWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQDflHhxCjaUgrQQ5uwoQrVXjgZO9gO5koFj74ypRiB9
pnded+k6+xp2SZmFtqheRDS9prehnBTw3fg22Dv+IAX9ehmmuTN71DjNsrGLtr8s
VLhZOQQGgtXKJvl84H1Y93FPGbg9jxIjlVK/teDSZAoORGhA6jcx8+3WRZqoh17M
AwyjntuW2bPlwK6sRZo3Yo3FaOjfhbF1F7Q0XFWz5Xib/1/YnVW5ADgR7RAP2dH7
YIj1KT78+seOKNzdwV5k7IO8jkN6maJst51ET59JyANiw1EqK0+TKDNgmq/AaOgl
FF2HUJq+UL5hNRqIw02g2Tn1Oev/KHdflPxJn42aSUyhAgMBAAGjgYwwgYkwHQYD
VR0OBBYEFMcMi3vUFL167Sa37wKKhM3apGuKMB8GA1UdIwQYMBaAFMcMi3vUFL16
7Sa37wKKhM3apGuKMBQGA1UdEQQNMAuCCWxvY2FsaG9zdDAMBgNVHRMBAf8EAjAA
MA4GA1UdDwEB/wQEAwIFoDATBgNVHSUEDDAKBggrBgEFBQcDATANBgkqhkiG9w0B
AQsFAAOCAQEAlV0PnDaiwqvIKY4xi/hlACnjn7c82ll4xvjqRAAt5OAtfjKqny8r
/lwFEXX0etOK1flMwlCzcUIl1w7wQrKBF2K6DE6p+4JZqdT811OIbhsIMM90W/cc
9WZh1YDMYhcRlQf2i7wgAc7WeIyOSS5IUUGV3CLmuhO10JDMjmK1FN86ZAPstWzr
2EqQLGAtLH31HvGKPY3FzWcWrTX4y5tKMrG/tI9L8nkwCmRouDT2Is62v6TtNIVh
40gSAPl+un32zNe/NOJw5oTiIXJqcNtfhDn2zVP5XG1NzCJYya6OSGno72F98qUi
pkhjmw6CQ+htl8A7Hex/MmVYxnw1PWo/ew==
-----END CERTIFICATE-----
";

/// A generated self-signed certificate for `localhost`.
struct TestCert {
    cert_pem: String,
    key_pkcs8_pem: String,
    key_pkcs8_der: Vec<u8>,
    cert_der: CertificateDer<'static>,
}

fn generate_cert() -> TestCert {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("generate test certificate");
    TestCert {
        cert_pem: generated.cert.pem(),
        key_pkcs8_pem: generated.key_pair.serialize_pem(),
        key_pkcs8_der: generated.key_pair.serialize_der(),
        cert_der: generated.cert.der().clone(),
    }
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write test file");
    path
}

/// Splits one DER TLV off `input`: (tag, contents, rest).
fn read_tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, header) = match input[1] {
        short if short < 0x80 => (usize::from(short), 2),
        long => {
            let count = usize::from(long & 0x7f);
            let len = input[2..2 + count]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + count)
        }
    };
    (tag, &input[header..header + len], &input[header + len..])
}

/// Extracts the SEC1 `ECPrivateKey` from a PKCS#8 EC key and PEM-encodes it
/// as `EC PRIVATE KEY`.
fn pkcs8_to_sec1_pem(pkcs8: &[u8]) -> String {
    let (tag, info, _) = read_tlv(pkcs8);
    assert_eq!(tag, 0x30, "PrivateKeyInfo SEQUENCE");
    let (tag, _version, rest) = read_tlv(info);
    assert_eq!(tag, 0x02, "version INTEGER");
    let (tag, _algorithm, rest) = read_tlv(rest);
    assert_eq!(tag, 0x30, "AlgorithmIdentifier SEQUENCE");
    let (tag, sec1, _) = read_tlv(rest);
    assert_eq!(tag, 0x04, "privateKey OCTET STRING");
    let encoded = STANDARD.encode(sec1);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// Serves one HTTPS connection with `config` and GETs `/cwmp` over it,
/// trusting only `ca`. Returns the status, body and negotiated ALPN.
async fn https_get(
    config: Arc<ServerConfig>,
    ca: CertificateDer<'static>,
) -> (StatusCode, String, Option<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let acceptor = TlsAcceptor::from(config);
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let tls = acceptor.accept(tcp).await.expect("TLS handshake (server)");
        let service = service_fn(|request: Request<hyper::body::Incoming>| async move {
            let body = format!("hello {}", request.uri().path());
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
        });
        http1::Builder::new()
            .serve_connection(TokioIo::new(tls), service)
            .await
    });

    let mut roots = RootCertStore::empty();
    roots.add(ca).expect("trust test certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut client_config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    client_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = TlsConnector::from(Arc::new(client_config));

    let tcp = TcpStream::connect(addr).await.expect("connect");
    let server_name = ServerName::try_from("localhost").expect("server name");
    let tls = connector
        .connect(server_name, tcp)
        .await
        .expect("TLS handshake (client)");
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("HTTP handshake");
    let client_connection = tokio::spawn(connection);

    let request = Request::get("/cwmp")
        .header(HOST, "localhost")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    drop(sender);
    client_connection
        .await
        .expect("client task")
        .expect("client connection");
    server
        .await
        .expect("server task")
        .expect("server connection");
    (status, String::from_utf8_lossy(&body).into_owned(), alpn)
}

async fn assert_serves_https(config: Arc<ServerConfig>, ca: CertificateDer<'static>) {
    let (status, body, alpn) = tokio::time::timeout(Duration::from_secs(20), https_get(config, ca))
        .await
        .expect("HTTPS exchange timed out");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "hello /cwmp");
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn serves_https_with_pkcs8_key_files() {
    let cert = generate_cert();
    let dir = tempfile::tempdir().expect("temp dir");
    let cert_path = write(dir.path(), "tls.crt", &cert.cert_pem);
    let key_path = write(dir.path(), "tls.key", &cert.key_pkcs8_pem);

    let config = load_server_config(&cert_path, &key_path).expect("load TLS config");
    assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    assert_serves_https(config, cert.cert_der).await;
}

#[tokio::test]
async fn serves_https_with_sec1_key() {
    let cert = generate_cert();
    let sec1 = pkcs8_to_sec1_pem(&cert.key_pkcs8_der);
    let dir = tempfile::tempdir().expect("temp dir");
    let cert_path = write(dir.path(), "tls.crt", &cert.cert_pem);
    let key_path = write(dir.path(), "tls.key", &sec1);

    let config = load_server_config(&cert_path, &key_path).expect("load SEC1 key");
    assert_serves_https(config, cert.cert_der).await;
}

#[tokio::test]
async fn serves_https_from_pem_in_memory() {
    let cert = generate_cert();
    let config = server_config_from_pem(cert.cert_pem.as_bytes(), cert.key_pkcs8_pem.as_bytes())
        .expect("config from memory");
    assert_serves_https(config, cert.cert_der).await;
}

#[test]
fn loads_rsa_pkcs1_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cert_path = write(dir.path(), "rsa.crt", RSA_CERT);
    let key_path = write(dir.path(), "rsa.key", RSA_PKCS1_KEY);
    let config = load_server_config(&cert_path, &key_path).expect("load RSA key");
    assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
}

#[test]
fn accepts_combined_pem_file() {
    // One file holding both, as some deployments mount it.
    let cert = generate_cert();
    let dir = tempfile::tempdir().expect("temp dir");
    let both = write(
        dir.path(),
        "both.pem",
        &format!("{}{}", cert.key_pkcs8_pem, cert.cert_pem),
    );
    load_server_config(&both, &both).expect("combined PEM");
}

#[test]
fn garbage_pem_is_a_clear_error() {
    let cert = generate_cert();
    let dir = tempfile::tempdir().expect("temp dir");
    let garbage = write(dir.path(), "garbage.pem", "this is not a certificate\n");
    let key_path = write(dir.path(), "tls.key", &cert.key_pkcs8_pem);

    let err = load_server_config(&garbage, &key_path).expect_err("garbage must fail");
    assert!(matches!(err, TlsError::NoCertificates(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("no PEM certificate"), "{text}");
    assert!(text.contains("garbage.pem"), "{text}");
}

#[test]
fn corrupt_pem_section_is_a_clear_error() {
    let cert = generate_cert();
    let dir = tempfile::tempdir().expect("temp dir");
    let corrupt = write(
        dir.path(),
        "corrupt.pem",
        "-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n",
    );
    let key_path = write(dir.path(), "tls.key", &cert.key_pkcs8_pem);

    let err = load_server_config(&corrupt, &key_path).expect_err("corrupt PEM must fail");
    assert!(matches!(err, TlsError::InvalidPem { .. }), "{err:?}");
    assert!(err.to_string().contains("corrupt.pem"), "{err}");
}

#[test]
fn missing_files_are_clear_errors() {
    let cert = generate_cert();
    let dir = tempfile::tempdir().expect("temp dir");
    let cert_path = write(dir.path(), "tls.crt", &cert.cert_pem);
    let missing = dir.path().join("missing.key");

    let err = load_server_config(&cert_path, &missing).expect_err("missing key file");
    assert!(
        matches!(
            err,
            TlsError::Read {
                what: "private key",
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("cannot read TLS private key file"),
        "{text}"
    );
    assert!(text.contains("missing.key"), "{text}");

    let err =
        load_server_config(&dir.path().join("missing.crt"), &cert_path).expect_err("missing cert");
    assert!(
        matches!(
            err,
            TlsError::Read {
                what: "certificate",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn key_file_without_key_is_a_clear_error() {
    let cert = generate_cert();
    let dir = tempfile::tempdir().expect("temp dir");
    let cert_path = write(dir.path(), "tls.crt", &cert.cert_pem);

    let err = load_server_config(&cert_path, &cert_path).expect_err("no key");
    assert!(matches!(err, TlsError::NoPrivateKey(_)), "{err:?}");
    assert!(err.to_string().contains("no PEM private key"), "{err}");
}

#[test]
fn mismatched_key_is_rejected() {
    let cert = generate_cert();
    let other = generate_cert();
    let err = server_config_from_pem(cert.cert_pem.as_bytes(), other.key_pkcs8_pem.as_bytes())
        .expect_err("mismatched key");
    assert!(matches!(err, TlsError::Rustls(_)), "{err:?}");
}

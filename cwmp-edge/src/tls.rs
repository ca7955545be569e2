//! HTTPS for the CWMP endpoint: a rustls server configuration from PEM files.
//!
//! The ring crypto provider is selected explicitly, so nothing depends on a
//! process-wide default provider being installed. ALPN offers `http/1.1`
//! only (CWMP runs over HTTP/1.1).

use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// Why a TLS server configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read TLS {what} file {}: {source}", path.display())]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A PEM section could not be decoded.
    #[error("invalid PEM in TLS {what} {origin}: {source}")]
    InvalidPem {
        /// `certificate` or `private key`.
        what: &'static str,
        /// Where the PEM came from (a path, or `<memory>`).
        origin: String,
        /// The decoding error.
        source: io::Error,
    },
    /// The certificate PEM holds no `CERTIFICATE` section.
    #[error("no PEM certificate (-----BEGIN CERTIFICATE-----) found in {0}")]
    NoCertificates(String),
    /// The key PEM holds no private key.
    #[error("no PEM private key (PKCS#8, RSA or SEC1) found in {0}")]
    NoPrivateKey(String),
    /// rustls rejected the certificate chain or key.
    #[error("TLS certificate or key rejected: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The origin label used for PEM passed in memory.
const IN_MEMORY: &str = "<memory>";

/// Builds a server configuration from a PEM certificate chain (leaf first)
/// and a PEM private key (PKCS#8, RSA/PKCS#1 or SEC1).
pub fn load_server_config(cert_pem: &Path, key_pem: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let cert_bytes = read_file("certificate", cert_pem)?;
    let key_bytes = read_file("private key", key_pem)?;
    let certs = parse_certs(&cert_bytes, &cert_pem.display().to_string())?;
    let key = parse_key(&key_bytes, &key_pem.display().to_string())?;
    build_config(certs, key)
}

/// Like [`load_server_config`], with the PEM already in memory (e.g. from a
/// Kubernetes Secret).
pub fn server_config_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = parse_certs(cert_pem, IN_MEMORY)?;
    let key = parse_key(key_pem, IN_MEMORY)?;
    build_config(certs, key)
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

fn parse_certs(pem: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = rustls_pemfile::certs(&mut BufReader::new(pem))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::InvalidPem {
            what: "certificate",
            origin: origin.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates(origin.to_owned()));
    }
    Ok(certs)
}

fn parse_key(pem: &[u8], origin: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    rustls_pemfile::private_key(&mut BufReader::new(pem))
        .map_err(|source| TlsError::InvalidPem {
            what: "private key",
            origin: origin.to_owned(),
            source,
        })?
        .ok_or_else(|| TlsError::NoPrivateKey(origin.to_owned()))
}

fn build_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

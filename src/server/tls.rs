//! HTTPS (`--tls`): a rustls acceptor with either the user's certificate
//! (`--tls-cert`/`--tls-key`) or one made at start for `localhost`, `127.0.0.1`, `::1`
//! and every `--allowed-host`, signed by a local CA made at the same time, whose PEM is
//! written where clients can be told to trust it (`--tls-ca-out`). rustls with ring, so
//! the static binary needs no OpenSSL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::server::StartError;

/// The HTTPS side of a server: the acceptor, and the CA file when one was generated.
#[derive(Clone)]
pub(super) struct Tls {
    /// Wraps each accepted TCP stream.
    pub acceptor: TlsAcceptor,
    /// Where the generated CA's PEM was written (`None` with the user's certificate).
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

/// The default `--tls-ca-out`: in the system's temporary directory.
fn default_ca_file() -> PathBuf {
    std::env::temp_dir().join("particle-auth-mock-ca.pem")
}

/// The acceptor `config` asks for, if it asks for HTTPS.
pub(super) fn tls_for(config: &Config) -> Result<Option<Tls>, StartError> {
    if !config.serves_tls() {
        return Ok(None);
    }
    let (chain, key, ca_file) = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let (chain, key) = read_pair(cert, key)?;
            (chain, key, None)
        }
        _ => {
            let ca_file = config.tls_ca_out.clone().unwrap_or_else(default_ca_file);
            let (chain, key, ca_pem) = generate(&config.allowed_hosts)?;
            std::fs::write(&ca_file, ca_pem).map_err(|e| {
                tls_error(format!(
                    "cannot write the CA certificate to {} ({e}); choose another path with \
                     --tls-ca-out",
                    ca_file.display()
                ))
            })?;
            (chain, key, Some(ca_file))
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| tls_error(format!("the certificate and key do not fit: {e}")))?;
    // The mock speaks HTTP/1.1 only.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Tls {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        ca_file,
    }))
}

fn tls_error(message: String) -> StartError {
    StartError::Tls(message)
}

/// Reads the user's certificate chain and key (PEM).
fn read_pair(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), StartError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| tls_error(format!("cannot read --tls-cert {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(tls_error(format!(
            "--tls-cert {} holds no PEM certificate",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| tls_error(format!("cannot read --tls-key {}: {e}", key.display())))?;
    Ok((chain, key))
}

/// A local CA and a leaf for the loopback names and `hosts`: the leaf chain, its key,
/// and the CA's PEM.
fn generate(
    hosts: &[String],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String), StartError> {
    let failed = |e: rcgen::Error| tls_error(format!("cannot make a certificate: {e}"));
    let ca_key = KeyPair::generate().map_err(failed)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "particle-auth-mock local CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(failed)?;
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    for host in hosts {
        // A host may be given with brackets (`[::1]`) as in a Host header.
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        if !host.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
            names.push(host.to_string());
        }
    }
    let leaf_key = KeyPair::generate().map_err(failed)?;
    let mut leaf = CertificateParams::new(names).map_err(failed)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "particle-auth-mock");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf
        .signed_by(&leaf_key, &ca_cert, &ca_key)
        .map_err(failed)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    Ok((vec![leaf_cert.der().clone()], key, ca_cert.pem()))
}

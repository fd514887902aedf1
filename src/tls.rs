//! TLS client settings shared by every link the kiosk opens (the ILS, the MQTT broker):
//! rustls with the `ring` provider, trusting a site's own CA file or else the system's roots.
//!
//! System roots come from the operating system's store (`rustls-native-certs`) rather than a
//! baked-in list: library sites commonly run their servers behind a certificate from a private
//! CA that their IT installs in the system store, and the OS updates the store without a
//! rebuild.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A rustls client configuration that trusts the certificates in `ca_file` (PEM), or the
/// system's roots when there is none. The message names the file and what is wrong with it.
pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    client_config_with_identity(ca_file, None)
}

/// As [`client_config`], presenting the client certificate chain and key in `client_auth`
/// (`(cert_file, key_file)`, PEM) to servers that require one.
pub fn client_config_with_identity(
    ca_file: Option<&Path>,
    client_auth: Option<(&Path, &Path)>,
) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("CA file {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("CA file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("CA file {}: {e}", path.display()))?;
            }
        }
        None => {
            // Unreadable entries in the system store are skipped, as browsers do.
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err("no trusted CA certificate found".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let Some((cert_file, key_file)) = client_auth else {
        return Ok(config.with_no_client_auth());
    };
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("client certificate {}: {e}", cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "client certificate {}: no certificate in the file",
            cert_file.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("client key {}: {e}", key_file.display()))?;
    config
        .with_client_auth_cert(certs, key)
        .map_err(|e| format!("client certificate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let err = client_config(Some(Path::new("/nonexistent/ca.pem"))).expect_err("missing");
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        let dir = tempfile::tempdir().expect("tmp");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").expect("write");
        let err = client_config(Some(&empty)).expect_err("no certificate");
        assert!(err.contains("no trusted CA"), "{err}");
    }

    #[test]
    fn a_ca_file_is_trusted() {
        let ca = rcgen::generate_simple_self_signed(vec!["broker.test".into()]).expect("cert");
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, ca.cert.pem()).expect("write");
        assert!(client_config(Some(&path)).is_ok());
    }
}

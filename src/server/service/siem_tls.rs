//! The trust of TLS connections to SIEM sinks (issue 17): Mozilla's roots (webpki-roots, as
//! reqwest uses them) plus the company CAs of `GATEHOUSE_SIEM_CA_FILE`, for the HTTPS sinks (HEC,
//! NDJSON) and syslog over TLS alike. rustls with the `ring` provider, the one already in the tree.
use std::sync::Arc;
use tokio_rustls::rustls::{
    self,
    pki_types::{pem::PemObject, CertificateDer},
};

/// The certificates of a PEM file: at least one, each a certificate rustls can use as a root.
pub fn read_ca_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not a PEM file of certificates ({e})"))?;
    if certs.is_empty() {
        return Err("holds no certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    client_config(&certs)?;
    Ok(certs)
}

/// The client side of syslog over TLS: server certificates checked against the roots and the
/// sink's host name (or IP address); no client certificate.
pub fn client_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| format!("holds a certificate that cannot be a CA ({e})"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_certificates() {
        assert!(read_ca_pem(b"").unwrap_err().contains("no certificate"));
        assert!(read_ca_pem(b"not pem at all")
            .unwrap_err()
            .contains("no certificate"));
        let broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(read_ca_pem(broken).is_err());
        assert!(client_config(&[]).is_ok(), "Mozilla's roots alone");
    }
}

//! Key-like material for synthetic relays: RSA-1024 public keys in PKCS#1 DER (random
//! modulus) whose SHA-1 is the relay fingerprint, Ed25519 keys and structurally valid Ed25519
//! certificates, signatures of the right lengths, and the base64/PEM-object encoders.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use sha1::{Digest, Sha1};

use super::rng::Rng;
use super::time::Ts;

/// PKCS#1 RSAPublicKey DER of a 1024-bit key with exponent 65537 (140 bytes).
pub fn rsa_public_der(rng: &mut Rng) -> [u8; 140] {
    let mut der = [0u8; 140];
    der[..7].copy_from_slice(&[0x30, 0x81, 0x89, 0x02, 0x81, 0x81, 0x00]);
    rng.fill(&mut der[7..135]);
    der[7] |= 0x80; // full-size modulus
    der[134] |= 1; // odd
    der[135..].copy_from_slice(&[0x02, 0x03, 0x01, 0x00, 0x01]);
    der
}

pub fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

/// Ed25519 certificate (cert-spec): `cert_type` 4 = signing key certified by the identity,
/// 0x0A = ntor cross-certificate; one signed-with-ed25519-key extension. 140 bytes.
pub fn ed_cert(
    cert_type: u8,
    expires: Ts,
    certified: &[u8; 32],
    signer: &[u8; 32],
    sig: &[u8; 64],
) -> [u8; 140] {
    let mut c = [0u8; 140];
    c[0] = 1;
    c[1] = cert_type;
    let hours = (expires / 3600) as u32;
    c[2..6].copy_from_slice(&hours.to_be_bytes());
    c[6] = 1;
    c[7..39].copy_from_slice(certified);
    c[39] = 1; // one extension
    c[40..42].copy_from_slice(&32u16.to_be_bytes());
    c[42] = 4; // signed-with-ed25519-key
    c[43] = 1; // affects validation
    c[44..76].copy_from_slice(signer);
    c[76..140].copy_from_slice(sig);
    c
}

pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

pub fn b64_nopad(data: &[u8]) -> String {
    STANDARD_NO_PAD.encode(data)
}

/// Appends a PEM-like object (`-----BEGIN kw-----`, 64-column base64, `-----END kw-----`).
pub fn push_object(out: &mut String, keyword: &str, data: &[u8]) {
    out.push_str("-----BEGIN ");
    out.push_str(keyword);
    out.push_str("-----\n");
    let enc = b64(data);
    for chunk in enc.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(keyword);
    out.push_str("-----\n");
}

/// 40 upper-case hex digits.
pub fn hex_upper(d: &[u8]) -> String {
    hex::encode_upper(d)
}

/// `XXXX XXXX ...` (10 groups) as in the descriptor `fingerprint` line.
pub fn fingerprint_groups(fp: &[u8; 20]) -> String {
    let h = hex_upper(fp);
    let mut s = String::with_capacity(49);
    for (i, c) in h.as_bytes().chunks(4).enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(std::str::from_utf8(c).unwrap());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_and_cert_shapes() {
        let mut r = Rng::new(9);
        let der = rsa_public_der(&mut r);
        let mut s = String::new();
        push_object(&mut s, "RSA PUBLIC KEY", &der);
        assert!(s.contains("\nMIGJAoGB"), "{s}");
        assert_eq!(s.lines().count(), 5);
        let c = ed_cert(4, 1_668_000_000, &[1; 32], &[2; 32], &[3; 64]);
        assert!(b64(&c).starts_with("AQQAB"));
        assert_eq!(fingerprint_groups(&[0xAB; 20]).len(), 49);
    }
}

//! The signing algorithms, and the hashes and MACs each one uses.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sm3::Sm3;

/// Which signature to compute. [`sign`](super::sign) uses
/// [`HmacSha256`](Algorithm::HmacSha256); [`sign_with`](super::sign_with) and
/// [`Signer::algorithm`](super::Signer::algorithm) take any.
///
/// # Default
///
/// [`HmacSha256`](Algorithm::HmacSha256), what the SDKs and the gateway use
/// unless told otherwise.
///
/// # Examples
///
/// ```
/// use huaweicloud_errors::signing::{Algorithm, Credentials, Signer};
///
/// assert_eq!(Algorithm::default().name(), "SDK-HMAC-SHA256");
/// let sm3 = Signer::new(Credentials::new("AK", "SK")).algorithm(Algorithm::HmacSm3);
/// # let _ = sm3;
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `SDK-HMAC-SHA256`: SHA-256 hashes, HMAC-SHA256 keyed with the secret key.
    #[default]
    HmacSha256,
    /// `SDK-HMAC-SM3`: the same steps with SM3 for both hashes and the HMAC.
    HmacSm3,
    /// `V11-HMAC-SHA256`: HMAC-SHA256 keyed with a key derived (HKDF-SHA256)
    /// from the secret key, the access key and `date/region/service`; the
    /// SDKs use it for dedicated endpoints of the services that name one.
    DerivedHmacSha256 {
        /// The region, for example `cn-north-4`.
        region: String,
        /// The derived-auth service name the service documents.
        service: String,
    },
}

impl Algorithm {
    /// The name that starts the string to sign and the `Authorization` header,
    /// for example `SDK-HMAC-SHA256`.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "SDK-HMAC-SHA256",
            Algorithm::HmacSm3 => "SDK-HMAC-SM3",
            Algorithm::DerivedHmacSha256 { .. } => "V11-HMAC-SHA256",
        }
    }

    /// The hash of this algorithm.
    pub(crate) fn hash(&self) -> Hash {
        match self {
            Algorithm::HmacSm3 => Hash::Sm3,
            _ => Hash::Sha256,
        }
    }
}

/// `Hmac<$hash>` keyed with `$key`. (A macro: `Hmac<D>` is generic over
/// digest *cores*, which a plain `D: Digest` bound cannot name.)
macro_rules! keyed {
    ($hash:ty, $key:expr) => {
        // An HMAC takes a key of any length: `new_from_slice` cannot fail
        // (the fallback, the all-zero key, is never used).
        <Hmac<$hash> as Mac>::new_from_slice($key)
            .unwrap_or_else(|_| <Hmac<$hash> as hmac::digest::KeyInit>::new(&Default::default()))
    };
}

/// The hash an algorithm uses for the payload, the canonical request and its HMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sm3,
}

impl Hash {
    /// The hash of no bytes.
    fn empty_digest(self) -> &'static str {
        match self {
            Hash::Sha256 => "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            Hash::Sm3 => "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b",
        }
    }

    /// The header that carries `UNSIGNED-PAYLOAD`.
    pub(crate) fn content_header(self) -> &'static str {
        match self {
            Hash::Sha256 => "x-sdk-content-sha256",
            Hash::Sm3 => "x-sdk-content-sm3",
        }
    }

    /// The lower-case hex hash of `parts`, one after the other.
    pub(crate) fn hex_digest(self, parts: &[&[u8]]) -> Hex {
        // Most calls (every GET) have no body: skip hashing nothing.
        if parts.iter().all(|p| p.is_empty()) {
            return Hex::of_text(self.empty_digest());
        }
        Hasher::of(self, parts).hex()
    }
}

/// A hash fed piece by piece: the canonical request is hashed as it is
/// written, never held whole.
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(Sha256),
    Sm3(Sm3),
}

impl Hasher {
    /// A hasher of `hash`, empty.
    pub(crate) fn new(hash: Hash) -> Hasher {
        match hash {
            Hash::Sha256 => Hasher::Sha256(Sha256::new()),
            Hash::Sm3 => Hasher::Sm3(Sm3::new()),
        }
    }

    /// A hasher of `hash` fed `parts`, one after the other.
    fn of(hash: Hash, parts: &[&[u8]]) -> Hasher {
        let mut hasher = Hasher::new(hash);
        for part in parts {
            hasher.update(part);
        }
        hasher
    }

    /// Feeds `bytes`.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sm3(h) => h.update(bytes),
        }
    }

    /// The lower-case hex hash of everything fed.
    pub(crate) fn hex(self) -> Hex {
        match self {
            Hasher::Sha256(h) => Hex::of(&h.finalize()),
            Hasher::Sm3(h) => Hex::of(&h.finalize()),
        }
    }
}

/// An HMAC already keyed: the key's two blocks are hashed once, when
/// [`Credentials`](super::Credentials) first sign, and each signature starts
/// from a copy.
#[derive(Clone)]
pub(crate) enum KeyedMac {
    Sha256(Hmac<Sha256>),
    Sm3(Hmac<Sm3>),
}

impl KeyedMac {
    /// An HMAC of `hash` under `key`.
    pub(crate) fn new(hash: Hash, key: &[u8]) -> KeyedMac {
        match hash {
            Hash::Sha256 => KeyedMac::Sha256(keyed!(Sha256, key)),
            Hash::Sm3 => KeyedMac::Sm3(keyed!(Sm3, key)),
        }
    }

    /// The lower-case hex HMAC of `parts`, one after the other.
    pub(crate) fn hex(mut self, parts: &[&[u8]]) -> Hex {
        match &mut self {
            KeyedMac::Sha256(mac) => parts.iter().for_each(|part| mac.update(part)),
            KeyedMac::Sm3(mac) => parts.iter().for_each(|part| mac.update(part)),
        }
        match self {
            KeyedMac::Sha256(mac) => Hex::of(&mac.finalize().into_bytes()),
            KeyedMac::Sm3(mac) => Hex::of(&mac.finalize().into_bytes()),
        }
    }
}

/// A 32-byte hash (SHA-256 and SM3 alike) as lower-case hex, on the stack: a
/// signature writes up to three, none of which outlives the call.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hex([u8; 64]);

impl Hex {
    /// The hex of `bytes`, 32 of them (a shorter input leaves `0`s).
    fn of(bytes: &[u8]) -> Hex {
        let mut out = [b'0'; 64];
        write_hex(bytes, &mut out);
        Hex(out)
    }

    /// A hex text of 64 characters, held as a `Hex`.
    fn of_text(text: &str) -> Hex {
        let mut out = [b'0'; 64];
        out.copy_from_slice(text.as_bytes());
        Hex(out)
    }

    /// The hex's bytes, without the look at them that [`Hex::as_str`] takes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The hex as text.
    pub(crate) fn as_str(&self) -> &str {
        // Only `0-9a-f` are ever written: always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::ops::Deref for Hex {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl PartialEq<&str> for Hex {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The V11 signing key: the hex of HKDF-SHA256(IKM = SK, salt = AK, info, 32
/// bytes), used as text.
pub(crate) fn derived_key(access_key: &str, secret_key: &str, info: &str) -> String {
    let hkdf = hkdf::Hkdf::<Sha256>::new(Some(access_key.as_bytes()), secret_key.as_bytes());
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 255 * 32: cannot fail.
    if hkdf.expand(info.as_bytes(), &mut key).is_err() {
        return String::new();
    }
    hex(&key)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len() * 2];
    write_hex(bytes, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the lower-case hex of `bytes` into `out`, two digits a byte, as
/// far as `out` reaches.
fn write_hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hashes_of_the_empty_string_are_the_published_ones() {
        // Computed, not the shortcut: the shortcut must agree with them.
        for hash in [Hash::Sha256, Hash::Sm3] {
            assert_eq!(Hasher::new(hash).hex(), hash.empty_digest());
        }
        assert_eq!(
            Hash::Sha256.hex_digest(&[]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            Hash::Sm3.hex_digest(&[b""]),
            "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
        );
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        assert_eq!(
            KeyedMac::new(Hash::Sha256, b"Jefe").hex(&[b"what do ya want for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hex_is_lower_case_and_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}

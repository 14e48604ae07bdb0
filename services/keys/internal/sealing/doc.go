// Package sealing protects what the keys service stores and hands out (KD-8, KD-4): a Keyring
// encrypts product keys at rest, and a LinkSigner signs expiring download-link tokens. Both name
// their keys, so keys can rotate without downtime. Nothing here does I/O; Keyring.Seal draws its
// nonces from crypto/rand.
//
// # Key configuration
//
// Both read the same configuration format (ParseKeyring, ParseLinkSigner), e.g. from
// PARTNERHUB_KEYS_SEALING_KEYS:
//
//	k2:q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=,k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8
//
// comma-separated entries of a key ID, a colon and the key in base64 (standard or URL-safe
// alphabet, padding optional). The FIRST entry is the active key (it seals or signs); the others
// only open or verify what they produced before. Key IDs are 1 to 64 characters of A-Z a-z 0-9
// _ -. Keyring keys are exactly 32 bytes (AES-256), link keys at least 32 bytes; use different
// keys for the two. Configuration errors name entries by position, never by content.
//
// Rotation: put a new key first, keep the old one after it; reseal stored values whose KeyID is
// not the active one (or let them age out); remove the old key when nothing uses it. A value
// sealed under a removed key no longer opens (ErrUnknownKey), and a link signed with one no
// longer verifies (LINK_INVALID, problem SIGNATURE) — so keep an old link key for at least the
// longest link lifetime (7 days).
//
// # Sealed values
//
//	<key ID>:<base64url, unpadded, of nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16)>
//
// The nonce is random per seal. GCM authenticates, besides the ciphertext, the context
// "partnerhub.keys.sealing.v1", the key ID and the caller's aad (e.g. the key's row ID), so a
// value moved to another row, relabelled with another key ID or changed in any byte does not
// open. Decoding is strict (one encoding per byte string, only base64url characters). Errors wrap
// ErrMalformed, ErrUnknownKey or ErrNotAuthentic and never contain the plaintext.
//
// # Download-link tokens
//
// A token is base64url without padding (URL-safe: A-Z a-z 0-9 - _) of
//
//	version(1) = 1 ‖ len(key ID)(1) ‖ key ID ‖ expiry(8: Unix seconds, big-endian)
//	‖ len(link ID)(1) ‖ link ID ‖ len(entitlement ID)(1) ‖ entitlement ID
//	‖ len(variant ID)(1) ‖ variant ID
//	‖ HMAC-SHA256(key, "partnerhub.keys.download-link.v1" ‖ 0 ‖ everything before)(32)
//
// so it is bound to one entitlement and one variant (KD-4) and carries its own expiry; nothing
// is stored to verify it. The MAC is compared with hmac.Equal (constant time) before any claim is
// read. Expiry is to the second, truncated toward the past. A link is valid while now < expiry:
// AT its expiry instant it has expired, matching DownloadLink.expire_time ("when the link stops
// working"). Verify's errors:
//
//	malformed token          INVALID_ARGUMENT    LINK_INVALID  problem=MALFORMED  wraps ErrLinkMalformed
//	bad signature / old key  INVALID_ARGUMENT    LINK_INVALID  problem=SIGNATURE  wraps ErrLinkTampered
//	expired                  FAILED_PRECONDITION LINK_EXPIRED  expired_at=RFC3339 wraps ErrLinkExpired
//
// The contract (partnerhub.common.v1.ErrorReason) has one reason, LINK_INVALID, for a link that
// is not a well-formed authentic token; the problem metadata and the wrapped errors tell malformed
// from tampered. An expired link is FAILED_PRECONDITION: the request is well-formed and authentic,
// but the state of the world (time) refuses it, and the remedy is a new link.
//
// Revocation (OR-3, KD-7) is not the token's business: ResolveDownloadLink checks the
// entitlement's state after Verify.
package sealing

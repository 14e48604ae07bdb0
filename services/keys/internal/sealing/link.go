package sealing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// MinLinkKeySize is the least size of a link-signing key: HMAC-SHA256 gains nothing from more
// than 32 bytes and loses strength with fewer.
const MinLinkKeySize = 32

// MaxClaimIDLength is the longest entitlement or variant ID a token carries (they are UUIDs and
// catalog variant IDs, far shorter).
const MaxClaimIDLength = 255

// Token layout, before base64url encoding (see doc.go):
//
//	version(1) ‖ len(kid)(1) ‖ kid ‖ expires(8, Unix seconds, big-endian two's complement)
//	‖ len(entitlement)(1) ‖ entitlement ‖ len(variant)(1) ‖ variant ‖ HMAC-SHA256(32)
const (
	tokenVersion = 1
	macSize      = sha256.Size
	// minTokenBytes: version, kid length, a 1-byte kid, expiry, three empty-ID lengths, MAC.
	minTokenBytes = 1 + 1 + 1 + 8 + 1 + 1 + 1 + macSize
	// maxTokenBytes: the longest kid and IDs.
	maxTokenBytes = 1 + 1 + maxKeyIDLength + 8 + 3*(1+MaxClaimIDLength) + macSize
)

// linkContext is MAC'd before the token, so a link key cannot sign anything else by accident.
const linkContext = "partnerhub.keys.download-link.v1\x00"

// Claims is what a download link grants: one variant of one entitlement until Expires (KD-4).
// LinkID names the link's record, which a revocation withdraws and the activity log cites.
type Claims struct {
	LinkID        string
	EntitlementID string
	VariantID     string
	// Expires is when the link stops working; tokens carry it to the second (Sign truncates
	// toward the past, so a link never lives longer than asked). Verify returns it in UTC.
	Expires time.Time
}

// LinkSigner signs and verifies download-link tokens with HMAC-SHA256 under named keys, so the
// signing key can rotate: add a new key as active and keep the old one until the longest link
// lifetime (7 days) has passed. A LinkSigner is immutable and safe for concurrent use.
type LinkSigner struct {
	active string
	keys   map[string][]byte
}

// NewLinkSigner returns a signer that signs with keys[active] and verifies with any of keys.
// Every key must have at least 32 bytes and every ID 1 to 64 characters of A-Z a-z 0-9 _ -. The
// keys are copied. Errors wrap ErrConfig and never contain a key.
func NewLinkSigner(active string, keys map[string][]byte) (*LinkSigner, error) {
	if err := checkKeys(active, keys, func(n int) bool { return n >= MinLinkKeySize }, "at least 32"); err != nil {
		return nil, err
	}
	s := &LinkSigner{active: active, keys: maps.Clone(keys)}
	for id, k := range s.keys {
		s.keys[id] = append([]byte(nil), k...)
	}
	return s, nil
}

// ParseLinkSigner returns a signer from a configuration string in ParseKeyring's format
// ("l2:BASE64,l1:BASE64", the first active). Use other keys than the keyring's.
func ParseLinkSigner(config string) (*LinkSigner, error) {
	active, keys, err := parseKeyConfig(config)
	if err != nil {
		return nil, err
	}
	return NewLinkSigner(active, keys)
}

// ActiveID returns the ID of the key Sign uses.
func (s *LinkSigner) ActiveID() string { return s.active }

// Sign returns a URL-safe token (base64url, no padding) for c, signed with the active key. Every
// token Sign returns verifies until c.Expires. It refuses claims that would make a token Verify
// could not read back — an empty ID, an ID longer than MaxClaimIDLength bytes, a zero Expires —
// with an error wrapping ErrLinkClaims; the app validates its IDs first, so this is a bug guard.
func (s *LinkSigner) Sign(c Claims) (string, error) {
	switch {
	case c.LinkID == "" || c.EntitlementID == "" || c.VariantID == "":
		return "", fmt.Errorf("%w: link, entitlement and variant IDs are required", ErrLinkClaims)
	case len(c.LinkID) > MaxClaimIDLength || len(c.EntitlementID) > MaxClaimIDLength || len(c.VariantID) > MaxClaimIDLength:
		return "", fmt.Errorf("%w: an ID is longer than %d bytes", ErrLinkClaims, MaxClaimIDLength)
	case c.Expires.IsZero():
		return "", fmt.Errorf("%w: the expiry is required", ErrLinkClaims)
	}
	b := make([]byte, 0, 1+1+len(s.active)+8+1+len(c.LinkID)+1+len(c.EntitlementID)+1+len(c.VariantID)+macSize)
	b = append(b, tokenVersion, byte(len(s.active)))
	b = append(b, s.active...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Expires.Unix()))
	b = append(b, byte(len(c.LinkID)))
	b = append(b, c.LinkID...)
	b = append(b, byte(len(c.EntitlementID)))
	b = append(b, c.EntitlementID...)
	b = append(b, byte(len(c.VariantID)))
	b = append(b, c.VariantID...)
	b = append(b, linkMAC(s.keys[s.active], b)...)
	return b64.EncodeToString(b), nil
}

// Verify checks token at now and returns its claims. A link is valid while now < Expires: at its
// expiry instant it has expired. Errors (*errs.Error, each wrapping one of the link errors):
//   - INVALID_ARGUMENT / LINK_INVALID, problem MALFORMED (wraps ErrLinkMalformed): not a token of
//     this format;
//   - INVALID_ARGUMENT / LINK_INVALID, problem SIGNATURE (wraps ErrLinkTampered): the signature
//     does not verify, or the token's key is no longer configured;
//   - FAILED_PRECONDITION / LINK_EXPIRED (wraps ErrLinkExpired; metadata expired_at): authentic
//     but expired. The caller cannot fix the token (so not INVALID_ARGUMENT) but can ask for a
//     new link, as the contract says.
//
// The signature is checked, in constant time, before any claim is believed: a tampered expired
// token is LINK_INVALID, not LINK_EXPIRED. Errors never contain the token.
func (s *LinkSigner) Verify(token string, now time.Time) (Claims, error) {
	if len(token) > b64.EncodedLen(maxTokenBytes) || !isB64URL(token) {
		return Claims{}, linkMalformed()
	}
	b, err := b64.DecodeString(token)
	if err != nil || len(b) < minTokenBytes || b[0] != tokenVersion {
		return Claims{}, linkMalformed()
	}
	body, mac := b[:len(b)-macSize], b[len(b)-macSize:]
	r := reader{b: body[1:]}
	kid := string(r.field())
	if r.bad || !validKeyID(kid) {
		return Claims{}, linkMalformed()
	}
	key, ok := s.keys[kid]
	if !ok || !hmac.Equal(mac, linkMAC(key, body)) {
		return Claims{}, linkTampered()
	}
	// Authentic from here on; a parse failure means a token this code did not write.
	expires := int64(r.uint64())
	c := Claims{LinkID: string(r.field()), EntitlementID: string(r.field()), VariantID: string(r.field()),
		Expires: time.Unix(expires, 0).UTC()}
	if r.bad || len(r.b) != 0 {
		return Claims{}, linkMalformed()
	}
	if !now.Before(c.Expires) {
		return Claims{}, errs.New(errs.FailedPrecondition, ReasonLinkExpired, "the download link has expired").
			With("expired_at", c.Expires.Format(time.RFC3339)).Wrap(ErrLinkExpired)
	}
	return c, nil
}

func linkMAC(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(linkContext))
	m.Write(body)
	return m.Sum(nil)
}

func linkMalformed() error {
	return errs.New(errs.InvalidArgument, ReasonLinkInvalid, "the download link is malformed").
		With("problem", ProblemMalformed).Wrap(ErrLinkMalformed)
}

func linkTampered() error {
	return errs.New(errs.InvalidArgument, ReasonLinkInvalid, "the download link's signature does not verify").
		With("problem", ProblemSignature).Wrap(ErrLinkTampered)
}

// reader reads a token body; running out of bytes sets bad instead of panicking.
type reader struct {
	b   []byte
	bad bool
}

// field reads a 1-byte length and that many bytes.
func (r *reader) field() []byte {
	if len(r.b) < 1 || len(r.b) < 1+int(r.b[0]) {
		r.bad = true
		return nil
	}
	n := int(r.b[0])
	f := r.b[1 : 1+n]
	r.b = r.b[1+n:]
	return f
}

func (r *reader) uint64() uint64 {
	if len(r.b) < 8 {
		r.bad = true
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

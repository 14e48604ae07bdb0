package sealing

import "github.com/partnerhub/partnerhub/pkg/errs"

// Error is a sealing failure that callers tell apart with errors.Is. The keyring's errors are
// not API errors — a value that does not open is a corrupt row or a retired key, which the app
// reports as INTERNAL (errs.Unexpected) — while Verify's errors are *errs.Error values that wrap
// one of the link errors below as their cause.
type Error string

func (e Error) Error() string { return string(e) }

// The failures. None of them ever carries a plaintext, a key or a sealed value.
const (
	// ErrConfig: a key configuration (NewKeyring, ParseKeyring, NewLinkSigner, ParseLinkSigner) is
	// invalid. Messages name entries by position, never by content.
	ErrConfig Error = "sealing: invalid key configuration"
	// ErrMalformed: a sealed value is not "<key ID>:<base64url>" of a plausible length.
	ErrMalformed Error = "sealing: sealed value is malformed"
	// ErrUnknownKey: a sealed value names a key ID the keyring does not hold (a retired key).
	ErrUnknownKey Error = "sealing: sealed under a key that is not in the keyring"
	// ErrNotAuthentic: a sealed value does not authenticate: tampered with, or opened with another
	// aad than it was sealed with.
	ErrNotAuthentic Error = "sealing: sealed value does not authenticate"

	// ErrLinkClaims: Sign was given claims it cannot put into a token.
	ErrLinkClaims Error = "sealing: link claims cannot be signed"
	// ErrLinkMalformed: a download-link token is not a token (LINK_INVALID, problem MALFORMED).
	ErrLinkMalformed Error = "sealing: download link token is malformed"
	// ErrLinkTampered: a token's signature does not verify under its key, or its key is not
	// configured any more (LINK_INVALID, problem SIGNATURE).
	ErrLinkTampered Error = "sealing: download link signature does not verify"
	// ErrLinkExpired: an authentic token whose expiry has passed (LINK_EXPIRED).
	ErrLinkExpired Error = "sealing: download link has expired"
)

// The API reasons Verify answers with (partnerhub.common.v1.ErrorReason, keys block).
const (
	// ReasonLinkInvalid: the token is malformed or its signature does not verify
	// (INVALID_ARGUMENT; metadata problem = MALFORMED or SIGNATURE).
	ReasonLinkInvalid errs.Reason = "LINK_INVALID"
	// ReasonLinkExpired: the link has expired (FAILED_PRECONDITION; metadata expired_at, RFC 3339).
	ReasonLinkExpired errs.Reason = "LINK_EXPIRED"
)

// The values of the "problem" metadata of a LINK_INVALID error.
const (
	ProblemMalformed = "MALFORMED"
	ProblemSignature = "SIGNATURE"
)

// Reasons lists every reason above, for the test that checks them against the contract.
func Reasons() []errs.Reason { return []errs.Reason{ReasonLinkInvalid, ReasonLinkExpired} }

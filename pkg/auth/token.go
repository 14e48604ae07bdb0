package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Issuer and Audience of every partnerhub token.
const (
	Issuer   = "partnerhub-identity"
	Audience = "partnerhub"
)

// claims is the JWT body, as documented on partnerhub.identity.v1.Principal: "sub", "org_id",
// "org_kind", "roles" (names, so a token reads in any JWT debugger), "obo" for the principal a
// service acts for, plus the registered claims.
type claims struct {
	jwt.RegisteredClaims
	Org        string   `json:"org_id"`
	OrgKind    OrgKind  `json:"org_kind"`
	Roles      []Role   `json:"roles"`
	OnBehalfOf *oboJSON `json:"obo,omitempty"`
}

type oboJSON struct {
	Subject string  `json:"sub"`
	Org     string  `json:"org_id"`
	OrgKind OrgKind `json:"org_kind"`
	Roles   []Role  `json:"roles"`
}

// SigningKey is one Ed25519 key pair with its key ID (the JWT "kid" header).
type SigningKey struct {
	ID        string
	Private   ed25519.PrivateKey
	NotBefore time.Time
	NotAfter  time.Time
}

// Sign returns a compact JWS for p, valid from now for ttl.
func Sign(key SigningKey, p Principal, now time.Time, ttl time.Duration) (string, error) {
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Audience:  jwt.ClaimStrings{Audience},
			Subject:   p.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-30 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        uuid.NewString(),
		},
		Org: p.OrgID, OrgKind: p.OrgKind, Roles: p.Roles,
	}
	if o := p.OnBehalfOf; o != nil {
		c.OnBehalfOf = &oboJSON{Subject: o.Subject, Org: o.OrgID, OrgKind: o.OrgKind, Roles: o.Roles}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = key.ID
	s, err := t.SignedString(key.Private)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// KeySource returns the public key with the given ID, or an error when it is unknown.
type KeySource interface {
	PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error)
}

// Verifier checks tokens against the keys of a KeySource and the clock.
//
// An Ed25519 signature check costs tens of microseconds, more than a cached catalog read, and a
// client sends the same token with every call for its lifetime. So the Verifier remembers the
// tokens it has verified (bounded, until each one's expiry): a repeated token costs a map lookup.
// Only successful verifications are remembered, and never past the token's own expiry.
type Verifier struct {
	keys KeySource
	now  func() time.Time

	mu       sync.RWMutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	p   Principal
	exp time.Time
}

// verifiedCap bounds the verified-token cache (a few MB at most); when full, expired entries are
// dropped, and if none are, the cache starts over.
const verifiedCap = 10_000

// NewVerifier returns a Verifier; now is wall time (time.Now). Token lifetimes are about
// security, not business dates, so they never follow a service's fake clock.
func NewVerifier(keys KeySource, now func() time.Time) *Verifier {
	return &Verifier{keys: keys, now: now, verified: map[string]verifiedToken{}}
}

// Verify checks a compact JWS and returns its principal. Every failure is UNAUTHENTICATED with
// reason TOKEN_INVALID or TOKEN_EXPIRED, and says nothing about which check failed beyond that.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	v.mu.RLock()
	hit, ok := v.verified[token]
	v.mu.RUnlock()
	if ok {
		if v.now().Before(hit.exp) {
			return hit.p, nil
		}
		return Principal{}, errs.New(errs.Unauthenticated, errs.ReasonTokenExpired, "the token has expired")
	}
	p, exp, err := v.verify(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	v.remember(token, p, exp)
	return p, nil
}

func (v *Verifier) remember(token string, p Principal, exp time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.verified) >= verifiedCap {
		now := v.now()
		for t, e := range v.verified {
			if !now.Before(e.exp) {
				delete(v.verified, t)
			}
		}
		if len(v.verified) >= verifiedCap {
			clear(v.verified)
		}
	}
	v.verified[token] = verifiedToken{p: p, exp: exp}
}

var errUnknownKey = errors.New("unknown signing key")

// verify does the signature and claims checks.
func (v *Verifier) verify(ctx context.Context, token string) (Principal, time.Time, error) {
	var c claims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(Issuer), jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(v.now),
	)
	_, err := parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errUnknownKey
		}
		return v.keys.PublicKey(ctx, kid)
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Principal{}, time.Time{}, errs.New(errs.Unauthenticated, errs.ReasonTokenExpired, "the token has expired")
	case err != nil:
		if e, ok := errs.As(err); ok && e.Kind == errs.Unavailable {
			return Principal{}, time.Time{}, e
		}
		return Principal{}, time.Time{}, errs.New(errs.Unauthenticated, errs.ReasonTokenInvalid, "the token is not valid").Wrap(err)
	}
	p := Principal{Subject: c.Subject, OrgID: c.Org, OrgKind: c.OrgKind, Roles: c.Roles}
	if o := c.OnBehalfOf; o != nil {
		p.OnBehalfOf = &Principal{Subject: o.Subject, OrgID: o.Org, OrgKind: o.OrgKind, Roles: o.Roles}
	}
	if p.Subject == "" || p.OrgID == "" || p.OrgKind == "" {
		return Principal{}, time.Time{}, errs.New(errs.Unauthenticated, errs.ReasonTokenInvalid, "the token lacks subject or organisation")
	}
	return p, c.ExpiresAt.Time, nil
}

// StaticKeys is a KeySource over a fixed set of keys (identity itself, and tests).
type StaticKeys map[string]ed25519.PublicKey

// PublicKey implements KeySource.
func (s StaticKeys) PublicKey(_ context.Context, kid string) (ed25519.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKey
}

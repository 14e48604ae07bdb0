package domain

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Credential lifetimes: unset means DefaultCredentialLifetime from creation; at most
// MaxCredentialLifetime.
const (
	DefaultCredentialLifetime = 365 * 24 * time.Hour
	MaxCredentialLifetime     = 730 * 24 * time.Hour
)

// Credential is an API credential: a client ID and a secret (kept only as its hash) that obtain
// tokens for one user.
type Credential struct {
	ID          string
	ClientID    string
	UserID      string
	OrgID       string
	DisplayName string
	SecretHash  []byte
	ExpireTime  time.Time // zero: never (only credentials that predate expiry, e.g. the demo)
	RevokeTime  time.Time // zero unless revoked
	LastUseTime time.Time // zero if never used
	Etag        string
	CreateTime  time.Time
	UpdateTime  time.Time
}

// CredentialState is the lifecycle state of a credential at a time.
type CredentialState string

// The credential states of partnerhub.identity.v1.ApiCredentialState.
const (
	CredentialActive  CredentialState = "ACTIVE"
	CredentialRevoked CredentialState = "REVOKED"
	CredentialExpired CredentialState = "EXPIRED"
)

// StateAt returns the credential's state at now.
func (c Credential) StateAt(now time.Time) CredentialState {
	switch {
	case !c.RevokeTime.IsZero():
		return CredentialRevoked
	case !c.ExpireTime.IsZero() && !now.Before(c.ExpireTime):
		return CredentialExpired
	}
	return CredentialActive
}

// NewCredential returns a new credential for u, expiring at expire, and its secret (shown once).
func NewCredential(u User, label string, expire, now time.Time) (Credential, string) {
	secret, hash := NewSecret()
	return Credential{
		ID: uuid.NewString(), ClientID: NewClientID(), UserID: u.ID, OrgID: u.OrgID, DisplayName: label,
		SecretHash: hash, ExpireTime: expire, Etag: uuid.NewString(), CreateTime: now, UpdateTime: now,
	}, secret
}

// NewClientID returns a fresh public client ID: "phc_" and 26 base32 characters (130 random
// bits), lower case.
func NewClientID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "phc_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

package app

import (
	"context"
	"crypto/rand"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
	"github.com/partnerhub/partnerhub/services/keys/internal/sealing"
)

// Relationships answers whether a partner has an active reseller relationship with a customer
// (ID-4, KD-3); pkg/tenancy's cached checker in production.
type Relationships interface {
	Related(ctx context.Context, partnerID, customerID string) (bool, error)
}

// Options tune the use cases. The zero value gives the defaults.
type Options struct {
	// LinkBase is what a download link's token is appended to, e.g.
	// "https://downloads.example.com/d/" (default "partnerhub-download:").
	LinkBase string
	// FetchBase is where ResolveDownloadLink points the download of an artifact: FetchBase +
	// entitlement ID + "/" + file name (default "https://downloads.invalid/files/").
	FetchBase string
	// NewID makes entitlement, key, link and activity IDs; default version 7 UUIDs.
	NewID func() string
	// Rand is the randomness of new keys; default crypto/rand.
	Rand io.Reader
	// LookupKey is the HMAC key of key card lookups (sealing.Lookup): at least 32 bytes, and it
	// must never change, or the stored cards cannot be found by their keys any more. Without it
	// the key card use cases fail with INTERNAL.
	LookupKey []byte
	// Programs answers Open enrolment (ID-1) for MintKeyCards; without it MintKeyCards is
	// UNAVAILABLE / DEPENDENCY_UNAVAILABLE.
	Programs Programs
}

// Link lifetimes (KD-4: a link to send the customer).
const (
	DefaultLinkTTL = 24 * time.Hour
	MinLinkTTL     = 5 * time.Minute
	MaxLinkTTL     = 7 * 24 * time.Hour
	// FetchTTL is how long the artifact URL that ResolveDownloadLink returns is good for.
	FetchTTL = 5 * time.Minute
)

// App is the keys use cases.
type App struct {
	store   Store
	clock   clock.Clock
	rels    Relationships
	keyring *sealing.Keyring
	links   *sealing.LinkSigner
	opts    Options
}

// New returns the use cases. keyring seals the keys at rest (KD-8); links signs download links.
func New(store Store, clk clock.Clock, rels Relationships, keyring *sealing.Keyring, links *sealing.LinkSigner, opts Options) *App {
	if opts.LinkBase == "" {
		opts.LinkBase = "partnerhub-download:"
	}
	if opts.FetchBase == "" {
		opts.FetchBase = "https://downloads.invalid/files/"
	}
	if opts.NewID == nil {
		opts.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	return &App{store: store, clock: clk, rels: rels, keyring: keyring, links: links, opts: opts}
}

// now is the service clock's now at storage precision (microseconds, UTC).
func (a *App) now() time.Time { return a.clock.Now().UTC().Truncate(time.Microsecond) }

// caller is the authenticated principal of the call.
func caller(ctx context.Context) (auth.Principal, error) {
	return auth.MustFromContext(ctx)
}

// requestCaller is caller for a request that carries a request ID, which it checks.
func requestCaller(ctx context.Context, requestID string) (auth.Principal, error) {
	p, err := caller(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	if err := checkRequestID(requestID); err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}

// actor is who acts, as the activity log records it (KD-6).
func actor(p auth.Principal) domain.Actor {
	e := p.Effective()
	roles := make([]string, len(e.Roles))
	for i, r := range e.Roles {
		roles[i] = string(r)
	}
	return domain.Actor{UserID: e.Subject, OrgID: e.OrgID, OrgKind: string(e.OrgKind), Roles: roles}
}

// canSee refuses with NOT_FOUND an entitlement p may not even see (ID-8): a partner sees the
// entitlements it sold and those of customers it has an active reseller relationship with; a
// customer its own tenant's; a service acting for nobody all. It returns whether a partner
// caller is related to the entitlement's customer (KD-3 asks).
func (a *App) canSee(ctx context.Context, p auth.Principal, e domain.Entitlement) (bool, error) {
	v := p.Effective()
	switch v.OrgKind {
	case auth.OrgPartner:
		related, err := a.rels.Related(ctx, v.OrgID, e.CustomerID)
		if err != nil {
			return false, err
		}
		if !related && e.PartnerID != v.OrgID {
			return false, errs.NotFoundf("entitlement", e.ID)
		}
		return related, nil
	case auth.OrgCustomer:
		if e.CustomerID != v.OrgID {
			return false, errs.NotFoundf("entitlement", e.ID)
		}
		return false, nil
	case auth.OrgService:
		return false, nil
	}
	return false, errs.NotFoundf("entitlement", e.ID)
}

// checkID refuses an ID that is not a UUID.
func checkID(field, id string) error { return errs.CheckUUID(field, id) }

// checkRequestID refuses a missing or oversized request ID.
func checkRequestID(id string) error {
	if id == "" || len(id) > 128 {
		return errs.Invalid("request_id", "must be 1 to 128 characters")
	}
	return nil
}

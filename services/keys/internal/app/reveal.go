package app

import (
	"context"
	"fmt"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/idempotency"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// RevealInput asks for one whole key.
type RevealInput struct {
	RequestID   string
	KeyID       string
	PeerAddress string // where the call came from, for the activity log (KD-6)
	UserAgent   string
}

// Revealed is a revealed key with the record of its reveal.
type Revealed struct {
	Key         domain.Key
	KeyID       string
	KeyType     domain.KeyType     // MAK for an entitlement's key, PRODUCT_KEY_CARD for a key card's
	Entitlement domain.Entitlement // the key's entitlement; zero for a key card
	Card        domain.KeyCard     // the key card; zero for an entitlement's key
	ActivityID  string
}

// RevealKey returns a whole key to the partner's Admin agent of a customer it serves or to the
// customer's Global admin (KD-3), and to nobody else; a revoked key is ENTITLEMENT_REVOKED (KD-7).
// The key ID may also name an Open key card, whose key goes to its partner's Admin agent only
// (revealCard).
// The reveal is recorded in the activity log before the key leaves the store (KD-6, KD-8): no
// record, no key. A retry with the same request ID returns the key again under the same record,
// so one reveal is recorded once; the idempotency interceptor does not store this response, so
// the whole key is written nowhere.
func (a *App) RevealKey(ctx context.Context, in RevealInput) (Revealed, error) {
	p, err := requestCaller(ctx, in.RequestID)
	if err != nil {
		return Revealed{}, err
	}
	if err := checkID("key_id", in.KeyID); err != nil {
		return Revealed{}, err
	}
	e, err := a.store.EntitlementOfKey(ctx, in.KeyID)
	if errs.KindOf(err) == errs.NotFound {
		// Not an entitlement's key: maybe a key card's (KD-1).
		c, cerr := a.store.KeyCard(ctx, in.KeyID)
		switch {
		case cerr == nil:
			return a.revealCard(ctx, p, in, c)
		case errs.KindOf(cerr) != errs.NotFound:
			return Revealed{}, cerr
		}
	}
	if err != nil {
		return Revealed{}, err
	}
	related, err := a.canSee(ctx, p, e)
	if errs.KindOf(err) == errs.NotFound {
		return Revealed{}, errs.NotFoundf("key", in.KeyID)
	}
	if err != nil {
		return Revealed{}, err
	}
	if err := domain.CanRevealKey(p, e.CustomerID, related); err != nil {
		return Revealed{}, err
	}
	if err := e.CheckActive(); err != nil {
		return Revealed{}, err
	}
	k, _ := e.Key(in.KeyID)
	rec := domain.Activity{ID: a.opts.NewID(), Action: domain.ActionKeyRevealed, Actor: actor(p), PartnerID: e.PartnerID,
		CustomerID: e.CustomerID, EntitlementID: e.ID, KeyID: k.ID, MaskedKey: k.Masked, ProductName: e.ProductName,
		Time: a.now(), PeerAddress: in.PeerAddress, UserAgent: in.UserAgent}
	rec, err = a.recordReveal(ctx, p, in, rec, func(ctx context.Context, tx Tx) error {
		// Read again under the lock: a revocation that committed since must win.
		cur, err := tx.Entitlement(ctx, e.ID)
		if err != nil {
			return err
		}
		if err := cur.CheckActive(); err != nil {
			return err
		}
		if k, _ = cur.Key(in.KeyID); k.Sealed == "" {
			// Only a revoked entitlement has keys without their sealed value, and CheckActive
			// refused that above: this is a store that lost a key.
			return errs.New(errs.Internal, "", "reveal key %s: the stored key is missing", in.KeyID)
		}
		return nil
	})
	if err != nil {
		return Revealed{}, err
	}
	key, err := a.openKey(k.Sealed, keyAAD(k.ID), "key "+k.ID)
	if err != nil {
		return Revealed{}, err
	}
	return Revealed{Key: key, KeyID: k.ID, KeyType: k.Type, Entitlement: e, ActivityID: rec.ID}, nil
}

// mayHandOut is CanRevealKey for a caller that may see e: the roles that may get keys may get
// downloads too (DOMAIN.md's role table: "get software keys and download links").
func (a *App) mayHandOut(ctx context.Context, p auth.Principal, e domain.Entitlement) error {
	related, err := a.canSee(ctx, p, e)
	if err != nil {
		return err
	}
	return domain.CanRevealKey(p, e.CustomerID, related)
}

// recordReveal records a reveal in the activity log once per request ID (KD-6), before the key is
// opened: it appends rec after check (nil: none) passes under the transaction, and returns the
// record that stands — rec, or the one an earlier try of the request appended. The same request
// ID for another key is REQUEST_ID_REUSED.
func (a *App) recordReveal(ctx context.Context, p auth.Principal, in RevealInput, rec domain.Activity,
	check func(ctx context.Context, tx Tx) error,
) (domain.Activity, error) {
	err := a.store.Tx(ctx, func(ctx context.Context, tx Tx) error {
		had, ok, err := tx.ActivityOfRequest(ctx, idempotency.ScopeOf(p), in.RequestID)
		switch {
		case err != nil:
			return err
		case ok && had.KeyID != in.KeyID:
			return errs.New(errs.AlreadyExists, errs.ReasonRequestIDReused,
				"request_id %q was used for another request", in.RequestID)
		case ok:
			rec = had
			return nil
		}
		if check != nil {
			if err := check(ctx, tx); err != nil {
				return err
			}
		}
		return tx.AppendActivity(ctx, rec, idempotency.ScopeOf(p), in.RequestID)
	})
	if err != nil {
		return domain.Activity{}, err
	}
	return rec, nil
}

// openKey opens a sealed key and parses it; what names the key in errors ("key <ID>").
func (a *App) openKey(sealed string, aad []byte, what string) (domain.Key, error) {
	plain, err := a.keyring.Open(sealed, aad)
	if err != nil {
		return domain.Key{}, fmt.Errorf("reveal %s: %w", what, err)
	}
	key, err := domain.ParseKey(string(plain))
	if err != nil {
		// Never the parse error: it would call the caller's input malformed.
		return domain.Key{}, errs.New(errs.Internal, "", "reveal %s: the stored key does not parse", what)
	}
	return key, nil
}

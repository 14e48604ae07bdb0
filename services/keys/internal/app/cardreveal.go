package app

import (
	"context"
	"fmt"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// revealCard is RevealKey for an Open key card (KD-1, KD-3, KD-8): the whole key goes to an Admin
// agent of the partner that owns the card (domain.CanRevealKeyCard: ROLE_REQUIRED for anyone
// else, TENANT_MISMATCH for another partner's Admin agent). Like an entitlement's key, the reveal
// is recorded in the activity log (KD-6) — in the owning partner's log, with the card's SKU as the
// product — before the key is opened, once per request ID.
func (a *App) revealCard(ctx context.Context, p auth.Principal, in RevealInput, c domain.KeyCard) (Revealed, error) {
	if err := domain.CanRevealKeyCard(p, c.PartnerID); err != nil {
		return Revealed{}, err
	}
	now := a.now()
	rec := domain.Activity{ID: a.opts.NewID(), Action: domain.ActionKeyRevealed, Actor: actor(p), PartnerID: c.PartnerID,
		CustomerID: c.CustomerID, KeyID: c.ID, MaskedKey: c.Masked, ProductName: c.SkuID, Time: now,
		PeerAddress: in.PeerAddress, UserAgent: in.UserAgent}
	err := a.store.Tx(ctx, func(ctx context.Context, tx Tx) error {
		had, ok, err := tx.ActivityOfRequest(ctx, scope(p), in.RequestID)
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
		return tx.AppendActivity(ctx, rec, scope(p), in.RequestID)
	})
	if err != nil {
		return Revealed{}, err
	}
	plain, err := a.keyring.Open(c.Sealed, cardAAD(c.ID))
	if err != nil {
		return Revealed{}, fmt.Errorf("reveal key card %s: %w", c.ID, err)
	}
	key, err := domain.ParseKey(string(plain))
	if err != nil {
		// Never the parse error: it would call the caller's input malformed.
		return Revealed{}, errs.New(errs.Internal, "", "reveal key card %s: the stored key does not parse", c.ID)
	}
	return Revealed{Key: key, KeyID: c.ID, KeyType: domain.KeyTypeProductKeyCard, Card: c.At(now), ActivityID: rec.ID}, nil
}

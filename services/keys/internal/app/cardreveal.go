package app

import (
	"context"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// revealCard is RevealKey for an Open key card (KD-1, KD-3, KD-8): the whole key goes to an Admin
// agent of the partner that owns the card (domain.CanRevealKeyCard: ROLE_REQUIRED for anyone
// else). Another partner does not learn that the card exists (ID-8): NOT_FOUND, as for an
// entitlement's key it may not see. Like an entitlement's key, the reveal
// is recorded in the activity log (KD-6) — in the owning partner's log, with the card's SKU as the
// product — before the key is opened, once per request ID.
func (a *App) revealCard(ctx context.Context, p auth.Principal, in RevealInput, c domain.KeyCard) (Revealed, error) {
	if v := p.Effective(); v.OrgKind == auth.OrgPartner && v.OrgID != c.PartnerID {
		return Revealed{}, errs.NotFoundf("key", c.ID)
	}
	if err := domain.CanRevealKeyCard(p, c.PartnerID); err != nil {
		return Revealed{}, err
	}
	now := a.now()
	rec := domain.Activity{ID: a.opts.NewID(), Action: domain.ActionKeyRevealed, Actor: actor(p), PartnerID: c.PartnerID,
		CustomerID: c.CustomerID, KeyID: c.ID, MaskedKey: c.Masked, ProductName: c.SkuID, Time: now,
		PeerAddress: in.PeerAddress, UserAgent: in.UserAgent}
	rec, err := a.recordReveal(ctx, p, in, rec, nil)
	if err != nil {
		return Revealed{}, err
	}
	key, err := a.openKey(c.Sealed, cardAAD(c.ID), "key card "+c.ID)
	if err != nil {
		return Revealed{}, err
	}
	return Revealed{Key: key, KeyID: c.ID, KeyType: domain.KeyTypeProductKeyCard, Card: c.At(now), ActivityID: rec.ID}, nil
}

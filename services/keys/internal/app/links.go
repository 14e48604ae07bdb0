package app

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/idempotency"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
	"github.com/partnerhub/partnerhub/services/keys/internal/sealing"
)

// LinkInput asks for a download link to one variant of an entitlement.
type LinkInput struct {
	RequestID     string
	EntitlementID string
	VariantID     string
	TTL           time.Duration // 0: DefaultLinkTTL
	PeerAddress   string
	UserAgent     string
}

// IssuedLink is a download link with its URL, which carries the signed token.
type IssuedLink struct {
	Link domain.DownloadLink
	URL  string
}

// CreateDownloadLink makes a signed link to one variant of an entitlement that expires after
// TTL (KD-4: a link to send the customer), for the roles that may get keys (KD-3), and records
// it (KD-6). A retry with the same request ID returns the same link.
func (a *App) CreateDownloadLink(ctx context.Context, in LinkInput) (IssuedLink, error) {
	p, err := requestCaller(ctx, in.RequestID)
	if err != nil {
		return IssuedLink{}, err
	}
	if in.TTL == 0 {
		in.TTL = DefaultLinkTTL
	}
	if in.TTL < MinLinkTTL || in.TTL > MaxLinkTTL {
		return IssuedLink{}, errs.Invalid("ttl", "must be between %s and %s", MinLinkTTL, MaxLinkTTL)
	}
	e, err := a.visibleEntitlement(ctx, in.EntitlementID)
	if err != nil {
		return IssuedLink{}, err
	}
	if err := a.mayHandOut(ctx, p, e); err != nil {
		return IssuedLink{}, err
	}
	if err := e.CheckActive(); err != nil {
		return IssuedLink{}, err
	}
	v, ok := e.Variant(in.VariantID)
	if !ok {
		return IssuedLink{}, errs.NotFoundf("variant", in.VariantID)
	}
	now := a.now()
	link := domain.DownloadLink{ID: a.opts.NewID(), RequestID: in.RequestID, EntitlementID: e.ID, VariantID: v.ID,
		CustomerID: e.CustomerID, PartnerID: e.PartnerID, CreatedBy: p.Effective().Subject,
		// Tokens carry whole seconds; the record says what the token says.
		ExpireTime: now.Add(in.TTL).Truncate(time.Second), CreateTime: now}
	err = a.store.Tx(ctx, func(ctx context.Context, tx Tx) error {
		had, ok, err := tx.LinkOfRequest(ctx, idempotency.ScopeOf(p), in.RequestID)
		switch {
		case err != nil:
			return err
		case ok && (had.EntitlementID != in.EntitlementID || had.VariantID != in.VariantID):
			return errs.New(errs.AlreadyExists, errs.ReasonRequestIDReused,
				"request_id %q was used for another request", in.RequestID)
		case ok:
			link = had
			return nil
		}
		cur, err := tx.Entitlement(ctx, e.ID)
		if err != nil {
			return err
		}
		if err := cur.CheckActive(); err != nil {
			return err
		}
		if err := tx.InsertLink(ctx, link); err != nil {
			return err
		}
		return tx.AppendActivity(ctx, domain.Activity{ID: a.opts.NewID(), Action: domain.ActionDownloadLinkCreated,
			Actor: actor(p), PartnerID: e.PartnerID, CustomerID: e.CustomerID, EntitlementID: e.ID,
			ProductName: e.ProductName, VariantID: v.ID, LinkID: link.ID, Time: now, PeerAddress: in.PeerAddress,
			UserAgent: in.UserAgent}, idempotency.ScopeOf(p), in.RequestID) // LinkOfRequest finds the link by this record
	})
	if err != nil {
		return IssuedLink{}, err
	}
	token, err := a.links.Sign(sealing.Claims{LinkID: link.ID, EntitlementID: link.EntitlementID,
		VariantID: link.VariantID, Expires: link.ExpireTime})
	if err != nil {
		return IssuedLink{}, err
	}
	return IssuedLink{Link: link, URL: a.opts.LinkBase + token}, nil
}

// ResolveInput is a download link presented for download.
type ResolveInput struct {
	RequestID     string
	Link          string // the URL CreateDownloadLink returned, or its token alone
	ClientAddress string
	UserAgent     string
}

// Download is where a resolved link's artifact can be fetched, briefly.
type Download struct {
	FetchURL    string
	FetchExpire time.Time
	Variant     domain.Variant
	Entitlement domain.Entitlement
	ActivityID  string
}

// ResolveDownloadLink checks a link's signature and expiry, and that neither the link nor its
// entitlement was revoked (KD-7), then records the download (KD-6) and returns where to fetch
// the artifact. A malformed or tampered link is LINK_INVALID, an expired one LINK_EXPIRED, a
// revoked one ENTITLEMENT_REVOKED; a refusal of an authentic link is recorded too.
func (a *App) ResolveDownloadLink(ctx context.Context, in ResolveInput) (Download, error) {
	now := a.now()
	claims, err := a.links.Verify(tokenOf(in.Link), now)
	if err != nil {
		return Download{}, err
	}
	var who domain.Actor
	if p, ok := auth.FromContext(ctx); ok {
		who = actor(p)
	}
	var out Download
	var refusal error
	err = a.store.Tx(ctx, func(ctx context.Context, tx Tx) error {
		refusal = nil
		link, err := tx.Link(ctx, claims.LinkID)
		if err != nil {
			return err
		}
		e, err := tx.Entitlement(ctx, claims.EntitlementID)
		if err != nil {
			return err
		}
		v, _ := e.Variant(claims.VariantID)
		rec := domain.Activity{ID: a.opts.NewID(), Action: domain.ActionDownloadStarted, Actor: who,
			PartnerID: e.PartnerID, CustomerID: e.CustomerID, EntitlementID: e.ID, ProductName: e.ProductName,
			VariantID: v.ID, LinkID: link.ID, Time: now, PeerAddress: in.ClientAddress, UserAgent: in.UserAgent}
		if refusal = e.CheckActive(); refusal == nil && link.Revoked {
			refusal = errs.New(errs.FailedPrecondition, domain.ReasonEntitlementRevoked, "the download link was revoked").
				With("entitlement_id", e.ID)
		}
		if refusal != nil {
			rec.Action, rec.RefusalReason = domain.ActionDownloadRefused, string(errs.ReasonOf(refusal))
		}
		out = Download{FetchURL: a.opts.FetchBase + url.PathEscape(e.ID) + "/" + url.PathEscape(v.FileName),
			FetchExpire: now.Add(FetchTTL), Variant: v, Entitlement: e, ActivityID: rec.ID}
		return tx.AppendActivity(ctx, rec, "", "")
	})
	if err != nil {
		if errs.KindOf(err) == errs.NotFound { // signed by us, but its records are gone
			return Download{}, errs.New(errs.InvalidArgument, sealing.ReasonLinkInvalid, "the download link is not known").Wrap(err)
		}
		return Download{}, err
	}
	if refusal != nil {
		return Download{}, refusal
	}
	return out, nil
}

// tokenOf takes the token out of a link: the text after the last '/' or ':' (the LinkBase forms),
// or the link itself.
func tokenOf(link string) string {
	link = strings.TrimSpace(link)
	if i := strings.LastIndexAny(link, "/:"); i >= 0 {
		return link[i+1:]
	}
	return link
}

package sql

import (
	"context"
	"fmt"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// Download-link records (domain.DownloadLink). A link's token is verified by its signature; the
// record is what a revocation counts and withdraws.

const linkCols = `id, request_id, entitlement_id, variant_id, customer_id, partner_id, created_by, expire_time,
	revoked, created_at`

func scanLink(row store.Scanner) (domain.DownloadLink, error) {
	var l domain.DownloadLink
	if err := row.Scan(&l.ID, &l.RequestID, &l.EntitlementID, &l.VariantID, &l.CustomerID, &l.PartnerID,
		&l.CreatedBy, &l.ExpireTime, &l.Revoked, &l.CreateTime); err != nil {
		return domain.DownloadLink{}, err
	}
	l.ExpireTime, l.CreateTime = l.ExpireTime.UTC(), l.CreateTime.UTC()
	return l, nil
}

// InsertLink implements app.Tx. A link ID in use is ALREADY_EXISTS; the entitlement must exist
// (foreign key).
func (t *tx) InsertLink(ctx context.Context, l domain.DownloadLink) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO download_links (`+linkCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		l.ID, l.RequestID, l.EntitlementID, l.VariantID, l.CustomerID, l.PartnerID, l.CreatedBy,
		store.Time(l.ExpireTime), l.Revoked, store.Time(l.CreateTime))
	if store.IsUniqueViolation(err) {
		return errs.New(errs.AlreadyExists, "", "download link %q already exists", l.ID).Wrap(err)
	}
	if err != nil {
		return store.MapError(fmt.Errorf("insert download link %s: %w", l.ID, err))
	}
	return nil
}

// Link implements app.Tx. It does not lock: a link's record changes only by RevokeLinks, which
// the entitlement's lock orders.
func (t *tx) Link(ctx context.Context, id string) (domain.DownloadLink, error) {
	return store.GetByID(ctx, t.q, "download link", `SELECT `+linkCols+` FROM download_links WHERE id = $1`, id, scanLink)
}

// LinkOfRequest implements app.Tx. The link record does not carry the organisation of the caller
// that created it (app.Tx.InsertLink takes none), but the activity record of its creation does:
// the app records DOWNLOAD_LINK_CREATED with the link's ID under the same (scope, requestID), in
// the same transaction. So the link of a request is the one that record names, and that was
// created under the same request ID; the lookup is the activity_request index, then the link's
// primary key. A link created without that record is not found.
func (t *tx) LinkOfRequest(ctx context.Context, scope, requestID string) (domain.DownloadLink, bool, error) {
	if requestID == "" {
		return domain.DownloadLink{}, false, nil // no request, nothing to find
	}
	return store.FindOne(ctx, t.q, "download link of request "+requestID, scanLink, `SELECT `+linkCols+` FROM download_links
		WHERE id = (SELECT link_id FROM activity WHERE scope = $1 AND request_id = $2 AND request_id <> ''
			AND action = $3)
		AND request_id = $2`, scope, requestID, string(domain.ActionDownloadLinkCreated))
}

// RevokeLinks implements app.Tx, from the download_links_entitlement index. Only the links not yet
// revoked are written, so the count is of those.
func (t *tx) RevokeLinks(ctx context.Context, entitlementID string) (int, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE download_links SET revoked = TRUE
		WHERE entitlement_id = $1 AND revoked = FALSE`, entitlementID)
	n, err := store.Affected(res, err, "revoke download links of entitlement "+entitlementID)
	return int(n), err
}

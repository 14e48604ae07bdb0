package app

import (
	"context"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// ListMarkets lists the countries/regions the service is offered in (ID-3), ordered by country
// code, to any authenticated caller. The markets are configuration, not data, so a page token is
// the last country code of the previous page.
func (a *App) ListMarkets(ctx context.Context, pageSize int32, pageToken string) ([]domain.Market, string, error) {
	if _, err := auth.MustFromContext(ctx); err != nil {
		return nil, "", err
	}
	size, err := paging.Size(pageSize)
	if err != nil {
		return nil, "", err
	}
	const query = "markets" // the same list for every caller
	after, err := paging.Decode(pageToken, query, 1)
	if err != nil {
		return nil, "", err
	}
	var rows []domain.Market
	for _, m := range a.opts.Markets.List() { // ordered by country code
		if len(after) > 0 && m.CountryCode <= after[0] {
			continue
		}
		if rows = append(rows, m); len(rows) > size {
			break
		}
	}
	page, next := paging.Trim(rows, size, query, func(m domain.Market) []string { return []string{m.CountryCode} })
	return page, next, nil
}

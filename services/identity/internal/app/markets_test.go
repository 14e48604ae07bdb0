package app

import (
	"context"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// ID-3: ListMarkets pages through the configured markets in country-code order, for any
// authenticated caller, with tokens bound to the query.
func TestListMarkets_ID3_PagesInCountryOrder(t *testing.T) {
	markets, err := domain.ParseMarkets("FR,DE,AT,CH,BE")
	if err != nil {
		t.Fatal(err)
	}
	a := New(nil, clock.Real{}, Options{Markets: markets}) // markets need no repository
	if _, _, err := a.ListMarkets(context.Background(), 0, ""); errs.KindOf(err) != errs.Unauthenticated {
		t.Fatalf("no principal: %v; want UNAUTHENTICATED", err)
	}
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Subject: "u", OrgID: "c", OrgKind: auth.OrgCustomer,
		Roles: []auth.Role{auth.CustomerUser}})
	var got []string
	pages := 0
	for token := ""; ; {
		page, next, err := a.ListMarkets(ctx, 2, token)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range page {
			got = append(got, m.CountryCode)
		}
		if token = next; token == "" {
			break
		}
	}
	if want := "AT BE CH DE FR"; joinCodes(got) != want || pages != 3 {
		t.Errorf("listed %q in %d pages, want %q in 3", joinCodes(got), pages, want)
	}
	all, next, err := a.ListMarkets(ctx, 0, "")
	if err != nil || len(all) != 5 || next != "" || all[3].DisplayName != "Germany" || all[3].CurrencyCode != "EUR" {
		t.Errorf("default page: %+v %q %v", all, next, err)
	}
	if _, _, err := a.ListMarkets(ctx, 0, "garbage"); errs.ReasonOf(err) != errs.ReasonInvalidPageToken {
		t.Errorf("bad token: %v; want INVALID_PAGE_TOKEN", err)
	}
	if _, _, err := a.ListMarkets(ctx, -1, ""); errs.KindOf(err) != errs.InvalidArgument {
		t.Errorf("negative page size: %v; want INVALID_ARGUMENT", err)
	}
}

func joinCodes(codes []string) string {
	s := ""
	for i, c := range codes {
		if i > 0 {
			s += " "
		}
		s += c
	}
	return s
}

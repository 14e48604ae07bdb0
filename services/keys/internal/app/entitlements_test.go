package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
	"github.com/partnerhub/partnerhub/services/keys/internal/sealing"
)

// CA-7, CA-8, KD-4, KD-8: a MAK line gets its keys (sealed, listed masked), its variants and
// instructions; a license-only line gets nothing to hand out; KMS is refused; a retried issue
// returns the same entitlement.
func TestIssueEntitlements_CA7_CA8_KD4(t *testing.T) {
	h := sqliteHarness(t)
	in := h.line(func(in *app.IssueInput) { in.KeyCount = 2 })
	e := h.issue(in)
	if e.Kind != domain.FulfilKeyAndDownload || len(e.Keys) != 2 || len(e.Variants) != 2 || e.State != domain.EntitlementActive {
		t.Fatalf("entitlement %+v", e)
	}
	for _, k := range e.Keys {
		if !strings.HasPrefix(k.Masked, "*****-*****-*****-*****-") || k.Type != domain.KeyTypeMAK || k.ActivationLimit != 16 {
			t.Errorf("key %+v", k)
		}
		if strings.Contains(k.Sealed, k.Masked[len(k.Masked)-5:]) {
			t.Errorf("sealed key %q shows its last group", k.Sealed)
		}
	}
	again := in
	again.RequestID = h.rid()
	if e2 := h.issue(again); e2.ID != e.ID || e2.Keys[0].ID != e.Keys[0].ID {
		t.Errorf("a second issue of the line made %s, want %s", e2.ID, e.ID)
	}

	_, err := h.app.IssueEntitlements(asSaga(), h.line(func(in *app.IssueInput) { in.KeyType = domain.KeyTypeKMS }))
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonKMSNotAllowed)

	lic := h.issue(h.line(func(in *app.IssueInput) {
		in.KeyType, in.KeyCount, in.Variants, in.Instructions = domain.KeyTypeNone, 0, nil, ""
	}))
	if lic.Kind != domain.FulfilLicenseOnly || len(lic.Keys) != 0 {
		t.Errorf("license-only entitlement %+v", lic)
	}
	list := func(include bool) []string {
		es, _, err := h.app.ListSoftware(partnerUser(partnerA, auth.AdminAgent), app.SoftwareInput{CustomerID: customerC, IncludeLicenseOnly: include})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range es {
			ids = append(ids, e.ID)
		}
		return ids
	}
	if got := list(false); len(got) != 1 || got[0] != e.ID {
		t.Errorf("ListSoftware = %v, want [%s]", got, e.ID)
	}
	if got := list(true); len(got) != 2 {
		t.Errorf("ListSoftware with license-only = %v, want 2", got)
	}
}

// Bad input changes nothing: every malformed field is INVALID_ARGUMENT naming it.
func TestIssueEntitlements_BadInput(t *testing.T) {
	h := sqliteHarness(t)
	for name, mod := range map[string]func(*app.IssueInput){
		"no request":       func(in *app.IssueInput) { in.RequestID = "" },
		"order id":         func(in *app.IssueInput) { in.OrderID = "o-1" },
		"customer id":      func(in *app.IssueInput) { in.CustomerID = "" },
		"no sku":           func(in *app.IssueInput) { in.SkuID = "" },
		"zero quantity":    func(in *app.IssueInput) { in.Quantity = 0 },
		"too many keys":    func(in *app.IssueInput) { in.KeyCount = domain.MaxKeysPerLine + 1 },
		"keys without MAK": func(in *app.IssueInput) { in.KeyType = domain.KeyTypeNone },
		"variant twice":    func(in *app.IssueInput) { in.Variants[1].ID = in.Variants[0].ID },
		"variant no id":    func(in *app.IssueInput) { in.Variants[0].ID = "" },
	} {
		_, err := h.app.IssueEntitlements(asSaga(), h.line(mod))
		if errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
		}
	}
	if es, _, _ := h.app.ListSoftware(asSaga(), app.SoftwareInput{IncludeLicenseOnly: true}); len(es) != 0 {
		t.Errorf("bad input stored %d entitlements", len(es))
	}
}

// KD-4: a variant without a file name (the catalog names none) gets a derived one, as the
// contract says, instead of failing the order saga's issue step.
func TestIssueEntitlements_VariantWithoutFileName_Derived_KD4(t *testing.T) {
	h := sqliteHarness(t)
	e := h.issue(h.line(func(in *app.IssueInput) { in.Variants[0].FileName = "" }))
	if len(e.Variants) == 0 || e.Variants[0].FileName == "" {
		t.Fatalf("variants = %+v, want a derived file name", e.Variants)
	}
}

// KD-3: a whole key goes to the partner's Admin agent of a customer it serves and to the
// customer's Global admin, to nobody else; each reveal is recorded once (KD-6), also when retried.
func TestRevealKey_KD3_KD6(t *testing.T) {
	h := sqliteHarness(t)
	e := h.issue(h.line())
	keyID := e.Keys[0].ID
	for _, tc := range []struct {
		name   string
		role   auth.Role
		org    string
		kind   errs.Kind // 0: allowed
		reason errs.Reason
	}{
		{"partner Admin agent", auth.AdminAgent, partnerA, 0, ""},
		{"customer Global admin", auth.CustomerGlobalAdmin, customerC, 0, ""},
		{"partner Sales agent", auth.SalesAgent, partnerA, errs.PermissionDenied, errs.ReasonRoleRequired},
		{"partner Global admin", auth.GlobalAdmin, partnerA, errs.PermissionDenied, errs.ReasonRoleRequired},
		{"customer user", auth.CustomerUser, customerC, errs.PermissionDenied, errs.ReasonRoleRequired},
		{"another partner's Admin agent", auth.AdminAgent, partnerB, errs.NotFound, ""},
		{"another customer's Global admin", auth.CustomerGlobalAdmin, customerD, errs.NotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := partnerUser(tc.org, tc.role)
			if tc.org == customerC || tc.org == customerD {
				ctx = customerUser(tc.org, tc.role)
			}
			rid := h.rid()
			r, err := h.app.RevealKey(ctx, app.RevealInput{RequestID: rid, KeyID: keyID, PeerAddress: "192.0.2.7:5123"})
			if tc.kind != 0 {
				wantErr(t, err, tc.kind, tc.reason)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Key.Masked() != e.Keys[0].Masked || len(r.Key.Reveal()) != 29 || r.ActivityID == "" {
				t.Fatalf("revealed %s (masked), activity %q", r.Key, r.ActivityID)
			}
			again, err := h.app.RevealKey(ctx, app.RevealInput{RequestID: rid, KeyID: keyID})
			if err != nil || again.ActivityID != r.ActivityID || again.Key != r.Key {
				t.Fatalf("retry: %v, activity %s (want %s)", err, again.ActivityID, r.ActivityID)
			}
		})
	}
	recs, _, err := h.app.ListActivity(partnerUser(partnerA, auth.GlobalAdmin), day(app.ActivityInput{Actions: []domain.ActivityAction{domain.ActionKeyRevealed}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d reveal records, want 2 (one per allowed caller, none for retries)", len(recs))
	}
	if r := recs[0]; r.KeyID != keyID || r.MaskedKey != e.Keys[0].Masked || r.Actor.OrgID != partnerA || r.PeerAddress != "192.0.2.7:5123" {
		t.Errorf("record %+v", r)
	}
}

// KD-4, KD-6: a link to one variant resolves until it expires; a tampered link is LINK_INVALID;
// the creation and the download are recorded.
func TestDownloadLinks_KD4(t *testing.T) {
	h := sqliteHarness(t)
	e := h.issue(h.line())
	agent := partnerUser(partnerA, auth.AdminAgent)
	l, err := h.app.CreateDownloadLink(agent, app.LinkInput{RequestID: h.rid(), EntitlementID: e.ID, VariantID: "ws2022-de-iso", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.URL, "https://dl.example/d/") || !l.Link.ExpireTime.Equal(t0.Add(time.Hour)) {
		t.Fatalf("link %+v", l)
	}
	d, err := h.app.ResolveDownloadLink(t.Context(), app.ResolveInput{RequestID: h.rid(), Link: l.URL, ClientAddress: "198.51.100.4"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Variant.ID != "ws2022-de-iso" || !strings.HasSuffix(d.FetchURL, "/ws2022-de.iso") {
		t.Errorf("download %+v", d)
	}
	tampered := l.URL[:len(l.URL)-3] + "AAA"
	_, err = h.app.ResolveDownloadLink(t.Context(), app.ResolveInput{RequestID: h.rid(), Link: tampered})
	wantErr(t, err, errs.InvalidArgument, sealing.ReasonLinkInvalid)
	h.clock.Advance(time.Hour)
	_, err = h.app.ResolveDownloadLink(t.Context(), app.ResolveInput{RequestID: h.rid(), Link: l.URL})
	wantErr(t, err, errs.FailedPrecondition, sealing.ReasonLinkExpired)

	_, err = h.app.CreateDownloadLink(agent, app.LinkInput{RequestID: h.rid(), EntitlementID: e.ID, VariantID: "nope"})
	wantErr(t, err, errs.NotFound, "")
	_, err = h.app.CreateDownloadLink(agent, app.LinkInput{RequestID: h.rid(), EntitlementID: e.ID, VariantID: "ws2022-de-iso", TTL: time.Second})
	wantErr(t, err, errs.InvalidArgument, "")
	_, err = h.app.CreateDownloadLink(partnerUser(partnerA, auth.SalesAgent), app.LinkInput{RequestID: h.rid(), EntitlementID: e.ID, VariantID: "ws2022-de-iso"})
	wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)

	recs, _, err := h.app.ListActivity(partnerUser(partnerA, auth.GlobalAdmin), day(app.ActivityInput{}))
	if err != nil {
		t.Fatal(err)
	}
	var actions []domain.ActivityAction
	for _, r := range recs {
		actions = append(actions, r.Action)
	}
	if len(actions) != 2 || actions[0] != domain.ActionDownloadLinkCreated || actions[1] != domain.ActionDownloadStarted {
		t.Errorf("activity %v, want LINK_CREATED, DOWNLOAD_STARTED", actions)
	}
}

// KD-7, OR-3: after a revocation the item is still listed without its keys, a reveal is refused
// with ENTITLEMENT_REVOKED, its links stop working (and the refusal is recorded); revoking again
// changes nothing.
func TestRevokeEntitlements_KD7(t *testing.T) {
	h := sqliteHarness(t)
	e := h.issue(h.line())
	agent := partnerUser(partnerA, auth.AdminAgent)
	l, err := h.app.CreateDownloadLink(agent, app.LinkInput{RequestID: h.rid(), EntitlementID: e.ID, VariantID: "ws2022-en-iso"})
	if err != nil {
		t.Fatal(err)
	}
	revoked, links, err := h.app.RevokeEntitlements(asSaga(), app.RevokeInput{RequestID: h.rid(), OrderID: e.OrderID})
	if err != nil || len(revoked) != 1 || links != 1 || revoked[0].State != domain.EntitlementRevoked ||
		revoked[0].Revocation != domain.RevokedOrderCancelled {
		t.Fatalf("RevokeEntitlements = %+v, %d links, %v", revoked, links, err)
	}
	_, err = h.app.RevealKey(agent, app.RevealInput{RequestID: h.rid(), KeyID: e.Keys[0].ID})
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonEntitlementRevoked)
	_, err = h.app.ResolveDownloadLink(t.Context(), app.ResolveInput{RequestID: h.rid(), Link: l.URL})
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonEntitlementRevoked)
	_, err = h.app.CreateDownloadLink(agent, app.LinkInput{RequestID: h.rid(), EntitlementID: e.ID, VariantID: "ws2022-en-iso"})
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonEntitlementRevoked)

	es, _, err := h.app.ListSoftware(agent, app.SoftwareInput{CustomerID: customerC})
	if err != nil || len(es) != 1 || es[0].State != domain.EntitlementRevoked || es[0].Keys[0].Masked != e.Keys[0].Masked ||
		es[0].Keys[0].Sealed != "" {
		t.Fatalf("listed after revocation: %+v, %v", es, err)
	}
	again, links, err := h.app.RevokeEntitlements(asSaga(), app.RevokeInput{RequestID: h.rid(), OrderID: e.OrderID})
	if err != nil || len(again) != 1 || links != 0 || !again[0].RevokeTime.Equal(revoked[0].RevokeTime) {
		t.Errorf("second revocation: %+v, %d links, %v", again, links, err)
	}
	recs, _, err := h.app.ListActivity(partnerUser(partnerA, auth.GlobalAdmin),
		day(app.ActivityInput{Actions: []domain.ActivityAction{domain.ActionDownloadRefused}}))
	if err != nil || len(recs) != 1 || recs[0].RefusalReason != string(domain.ReasonEntitlementRevoked) {
		t.Errorf("refusal records %+v, %v", recs, err)
	}
}

// KD-6: the activity log is read by the roles of DOMAIN.md's table, by date range; a reversed
// range is INVALID_ARGUMENT.
func TestListActivity_KD6(t *testing.T) {
	h := sqliteHarness(t)
	e := h.issue(h.line())
	if _, err := h.app.RevealKey(partnerUser(partnerA, auth.AdminAgent), app.RevealInput{RequestID: h.rid(), KeyID: e.Keys[0].ID}); err != nil {
		t.Fatal(err)
	}
	for _, role := range []auth.Role{auth.GlobalAdmin, auth.AccountAdmin, auth.ReferralAdmin, auth.MarketingContentAdmin} {
		recs, _, err := h.app.ListActivity(partnerUser(partnerA, role), app.ActivityInput{Start: t0, End: t0.Add(time.Second)})
		if err != nil || len(recs) != 1 {
			t.Errorf("%s: %d records, %v", role, len(recs), err)
		}
	}
	for _, ctx := range []struct {
		name string
		role auth.Role
	}{{"admin agent", auth.AdminAgent}, {"sales agent", auth.SalesAgent}} {
		_, _, err := h.app.ListActivity(partnerUser(partnerA, ctx.role), day(app.ActivityInput{}))
		wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	}
	_, _, err := h.app.ListActivity(customerUser(customerC, auth.CustomerGlobalAdmin), day(app.ActivityInput{}))
	wantErr(t, err, errs.PermissionDenied, errs.ReasonRoleRequired)
	if recs, _, err := h.app.ListActivity(partnerUser(partnerB, auth.GlobalAdmin), day(app.ActivityInput{})); err != nil || len(recs) != 0 {
		t.Errorf("another partner reads %d records, %v", len(recs), err)
	}
	if recs, _, err := h.app.ListActivity(partnerUser(partnerA, auth.GlobalAdmin), app.ActivityInput{Start: t0.Add(time.Second), End: t0.Add(time.Hour)}); err != nil || len(recs) != 0 {
		t.Errorf("after the range: %d records, %v", len(recs), err)
	}
	for name, in := range map[string]app.ActivityInput{
		"reversed":    {Start: t0, End: t0.Add(-time.Second)},
		"no start":    {End: t0},
		"no end":      {Start: t0},
		"over a year": {Start: t0, End: t0.Add(app.MaxActivityRange + time.Second)},
	} {
		_, _, err = h.app.ListActivity(partnerUser(partnerA, auth.GlobalAdmin), in)
		if errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
		}
	}
}

// day is in with the date range of the tests' first two days.
func day(in app.ActivityInput) app.ActivityInput {
	in.Start, in.End = t0.Add(-time.Hour), t0.Add(48*time.Hour)
	return in
}

// Retries and scoping: a retried CreateDownloadLink returns the same link and records once; a
// partner lists only a customer it serves; the saga issues only for the partner it acts for.
func TestRetriesAndScope(t *testing.T) {
	h := sqliteHarness(t)
	e := h.issue(h.line())
	agent := partnerUser(partnerA, auth.AdminAgent)
	in := app.LinkInput{RequestID: h.rid(), EntitlementID: e.ID, VariantID: "ws2022-en-iso"}
	l1, err := h.app.CreateDownloadLink(agent, in)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := h.app.CreateDownloadLink(agent, in)
	if err != nil || l2.Link.ID != l1.Link.ID || l2.URL != l1.URL {
		t.Errorf("retried link %+v, %v; want %+v", l2, err, l1)
	}
	other := in
	other.VariantID = "ws2022-de-iso"
	_, err = h.app.CreateDownloadLink(agent, other)
	wantErr(t, err, errs.AlreadyExists, errs.ReasonRequestIDReused)
	if recs, _, err := h.app.ListActivity(partnerUser(partnerA, auth.GlobalAdmin), day(app.ActivityInput{})); err != nil || len(recs) != 1 {
		t.Errorf("%d records after a retried link, %v; want 1", len(recs), err)
	}

	_, _, err = h.app.ListSoftware(agent, app.SoftwareInput{})
	wantErr(t, err, errs.InvalidArgument, "")
	_, _, err = h.app.ListSoftware(agent, app.SoftwareInput{CustomerID: customerD})
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonRelationshipRequired)
	if es, _, err := h.app.ListSoftware(customerUser(customerD, auth.CustomerGlobalAdmin), app.SoftwareInput{}); err != nil || len(es) != 0 {
		t.Errorf("another customer lists %d, %v", len(es), err)
	}

	_, err = h.app.IssueEntitlements(asSaga(), h.line(func(in *app.IssueInput) { in.PartnerID = partnerB }))
	wantErr(t, err, errs.PermissionDenied, errs.ReasonTenantMismatch)
}

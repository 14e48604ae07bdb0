package pbconv_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
	"github.com/partnerhub/partnerhub/services/keys/internal/pbconv"
)

var (
	t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

// Every value of every string enum of the domain has a contract value and maps back to itself;
// the contract's values all have a domain value (UNSPECIFIED is "").
func TestEnums_RoundTrip(t *testing.T) {
	for _, k := range []domain.FulfilmentKind{domain.FulfilKeyAndDownload, domain.FulfilKeyOnly, domain.FulfilDownloadOnly,
		domain.FulfilInstructionsOnly, domain.FulfilLicenseOnly} {
		if pbconv.FulfilmentKindPB(k) == keysv1.FulfilmentKind_FULFILMENT_KIND_UNSPECIFIED {
			t.Errorf("fulfilment kind %s has no contract value", k)
		}
	}
	if n := len(keysv1.FulfilmentKind_value) - 1; n != 5 {
		t.Errorf("the contract has %d fulfilment kinds, the domain 5", n)
	}
	for _, s := range []domain.EntitlementState{domain.EntitlementActive, domain.EntitlementRevoked} {
		pb := pbconv.EntitlementStatePB(s)
		if pb == 0 || pbconv.EntitlementState(pb) != s {
			t.Errorf("state %s ⇄ %v", s, pb)
		}
	}
	for _, r := range []domain.RevocationReason{domain.RevokedOrderCancelled, domain.RevokedOrderCompensated,
		domain.RevokedSubscriptionCancelled} {
		pb := pbconv.RevocationReasonPB(r)
		if pb == 0 || pbconv.RevocationReason(pb) != r {
			t.Errorf("revocation reason %s ⇄ %v", r, pb)
		}
	}
	for _, a := range []domain.ActivityAction{domain.ActionKeyRevealed, domain.ActionDownloadLinkCreated,
		domain.ActionDownloadStarted, domain.ActionDownloadRefused} {
		pb := pbconv.ActivityActionPB(a)
		if pb == 0 || pbconv.ActivityAction(pb) != a {
			t.Errorf("action %s ⇄ %v", a, pb)
		}
	}
	for n := range keysv1.ActivityAction_name {
		if a := pbconv.ActivityAction(keysv1.ActivityAction(n)); n != 0 && pbconv.ActivityActionPB(a) != keysv1.ActivityAction(n) {
			t.Errorf("contract action %d has no domain value (%q)", n, a)
		}
	}
	// UNSPECIFIED is the domain's "" both ways, and a number the contract does not know stays
	// unknown so that the use cases refuse it.
	if pbconv.RevocationReason(0) != "" || pbconv.RevocationReasonPB("") != 0 || pbconv.ActivityAction(0) != "" {
		t.Error("UNSPECIFIED does not map to \"\"")
	}
	if got := pbconv.RevocationReason(keysv1.RevocationReason(42)); got != "42" {
		t.Errorf("unknown revocation reason maps to %q", got)
	}
	if got := pbconv.ActivityActions([]keysv1.ActivityAction{keysv1.ActivityAction_ACTIVITY_ACTION_KEY_REVEALED, 9}); len(got) != 2 ||
		got[0] != domain.ActionKeyRevealed || got[1] != "9" {
		t.Errorf("ActivityActions = %q", got)
	}
	if pbconv.ActivityActions(nil) != nil {
		t.Error("no actions is not a nil filter")
	}
}

// domain.KeyType mirrors the contract's numbers: a plain conversion, unknown values included.
func TestKeyType(t *testing.T) {
	for n, name := range keysv1.KeyType_name {
		d := pbconv.KeyType(keysv1.KeyType(n))
		if "KEY_TYPE_"+d.String() != name || pbconv.KeyTypePB(d) != keysv1.KeyType(n) {
			t.Errorf("%s ⇄ %v", name, d)
		}
	}
	if d := pbconv.KeyType(keysv1.KeyType(77)); pbconv.KeyTypePB(d) != 77 {
		t.Errorf("unknown key type does not survive: %v", d)
	}
	if pbconv.KeyType(keysv1.KeyType_KEY_TYPE_KMS) != domain.KeyTypeKMS {
		t.Error("KMS does not map to KMS")
	}
}

// Every error reason the keys domain raises has a contract value, as do the refusal reasons of a
// download.
func TestReasonPB(t *testing.T) {
	for _, r := range domain.Reasons() {
		if pbconv.ReasonPB(r) == commonv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			t.Errorf("reason %s has no contract value", r)
		}
	}
	if pbconv.ReasonPB("LINK_EXPIRED") != commonv1.ErrorReason_ERROR_REASON_LINK_EXPIRED || pbconv.ReasonPB("") != 0 {
		t.Error("ReasonPB")
	}
}

func fullEntitlement() domain.Entitlement {
	return domain.Entitlement{
		ID: "e1", RequestID: "r1", CustomerID: "c1", PartnerID: "p1", OrderID: "o1", OrderLineID: "l1",
		SubscriptionID: "s1", SkuID: "sku", ProductID: "prod", ProductName: "Windows Server 2022 Standard",
		Kind: domain.FulfilKeyAndDownload, Quantity: 4, State: domain.EntitlementActive,
		Keys: []domain.IssuedKey{{ID: "k1", Type: domain.KeyTypeMAK, Masked: "*****-*****-*****-*****-7QX4M",
			Sealed: "ring1:SEALEDVALUE", ActivationLimit: 4}},
		Variants: []domain.Variant{{ID: "v1", Version: "2022", Language: "de-DE", FileType: "ISO",
			OperatingSystem: "Windows x64", FileName: "SW_DVD9.ISO", SizeBytes: 5 << 30, SHA256: "ab12"}},
		Instructions: "Run setup.exe", Version: 3, CreateTime: t0, UpdateTime: t1,
	}
}

// An entitlement maps field by field, its keys masked and never sealed; an active one has no
// revocation time or reason.
func TestEntitlementPB(t *testing.T) {
	e := fullEntitlement()
	got := pbconv.EntitlementPB(e)
	want := &keysv1.Entitlement{
		EntitlementId: "e1", CustomerId: "c1", PartnerId: "p1", OrderId: "o1", OrderLineId: "l1", SubscriptionId: "s1",
		SkuId: "sku", ProductId: "prod", ProductName: "Windows Server 2022 Standard",
		FulfilmentKind: keysv1.FulfilmentKind_FULFILMENT_KIND_KEY_AND_DOWNLOAD, Quantity: 4,
		State: keysv1.EntitlementState_ENTITLEMENT_STATE_ACTIVE,
		Keys: []*keysv1.MaskedKey{{KeyId: "k1", KeyType: keysv1.KeyType_KEY_TYPE_MAK,
			MaskedKey: "*****-*****-*****-*****-7QX4M", ActivationLimit: 4}},
		DownloadVariants: []*keysv1.DownloadVariant{{VariantId: "v1", Version: "2022", Language: "de-DE", FileType: "ISO",
			OperatingSystem: "Windows x64", FileName: "SW_DVD9.ISO", SizeBytes: 5 << 30, Sha256: "ab12"}},
		InstallationInstructions: "Run setup.exe", Etag: "v3",
		CreateTime: timestamppb.New(t0), UpdateTime: timestamppb.New(t1),
	}
	if !proto.Equal(got, want) {
		t.Errorf("EntitlementPB =\n%v\nwant\n%v", got, want)
	}
	if strings.Contains(got.String(), "SEALED") {
		t.Error("the sealed value reached the message")
	}

	revoked, _ := e.Revoke(domain.RevokedOrderCompensated, t1)
	r := pbconv.EntitlementPB(revoked)
	if r.GetState() != keysv1.EntitlementState_ENTITLEMENT_STATE_REVOKED || !r.GetRevokeTime().AsTime().Equal(t1) ||
		r.GetRevocationReason() != keysv1.RevocationReason_REVOCATION_REASON_ORDER_COMPENSATED ||
		len(r.GetKeys()) != 0 { // "revoked items included without key" (OR-3, KD-7)
		t.Errorf("revoked %v", r)
	}
	if n := len(pbconv.EntitlementsPB([]domain.Entitlement{e, revoked})); n != 2 {
		t.Errorf("EntitlementsPB: %d", n)
	}
}

// An IssueEntitlements request maps to the use case's input, variants included.
func TestIssueInput(t *testing.T) {
	v := fullEntitlement().Variants[0]
	in := pbconv.IssueInput(&keysv1.IssueEntitlementsRequest{RequestId: "r", OrderId: "o", OrderLineId: "l",
		CustomerId: "c", PartnerId: "p", SubscriptionId: "s", SkuId: "sku", ProductId: "prod", ProductName: "n",
		Quantity: 3, KeyType: keysv1.KeyType_KEY_TYPE_MAK, KeyCount: 2,
		DownloadVariants: []*keysv1.DownloadVariant{pbconv.VariantPB(v)}, InstallationInstructions: "i"})
	want := app.IssueInput{RequestID: "r", OrderID: "o", OrderLineID: "l", CustomerID: "c", PartnerID: "p",
		SubscriptionID: "s", SkuID: "sku", ProductID: "prod", ProductName: "n", Quantity: 3, KeyType: domain.KeyTypeMAK,
		KeyCount: 2, Variants: []domain.Variant{v}, Instructions: "i"}
	if in.RequestID != want.RequestID || in.OrderID != want.OrderID || in.OrderLineID != want.OrderLineID ||
		in.CustomerID != want.CustomerID || in.PartnerID != want.PartnerID || in.SubscriptionID != want.SubscriptionID ||
		in.SkuID != want.SkuID || in.ProductID != want.ProductID || in.ProductName != want.ProductName ||
		in.Quantity != want.Quantity || in.KeyType != want.KeyType || in.KeyCount != want.KeyCount ||
		len(in.Variants) != 1 || in.Variants[0] != v || in.Instructions != want.Instructions {
		t.Errorf("IssueInput = %+v\nwant %+v", in, want)
	}
	if got := pbconv.IssueInput(&keysv1.IssueEntitlementsRequest{}); got.Variants != nil || got.KeyType != domain.KeyTypeUnspecified {
		t.Errorf("empty request: %+v", got)
	}
}

func TestDownloadOptionsPB(t *testing.T) {
	e := fullEntitlement()
	got := pbconv.DownloadOptionsPB(app.DownloadOptions{Entitlement: e, Versions: []string{"2022"},
		Languages: []string{"de-DE", "en-US"}, FileTypes: []string{"ISO"}, OperatingSystems: []string{"Windows x64"},
		Variants: e.Variants})
	o := got.GetOptions()
	if len(o.GetVersions()) != 1 || len(o.GetLanguages()) != 2 || o.GetFileTypes()[0] != "ISO" ||
		o.GetOperatingSystems()[0] != "Windows x64" || len(got.GetVariants()) != 1 ||
		got.GetVariants()[0].GetVariantId() != "v1" || got.GetInstallationInstructions() != "Run setup.exe" ||
		len(got.GetKeys()) != 1 || got.GetKeys()[0].GetKeyId() != "k1" {
		t.Errorf("DownloadOptionsPB = %v", got)
	}
}

func TestLinkAndDownloadPB(t *testing.T) {
	l := pbconv.LinkPB(app.IssuedLink{URL: "partnerhub-download:tok", Link: domain.DownloadLink{ID: "dl", EntitlementID: "e1",
		VariantID: "v1", CreatedBy: "u1", ExpireTime: t1, CreateTime: t0, CustomerID: "c1"}})
	want := &keysv1.DownloadLink{LinkId: "dl", Url: "partnerhub-download:tok", EntitlementId: "e1", VariantId: "v1",
		ExpireTime: timestamppb.New(t1), CreatedByUserId: "u1", CreateTime: timestamppb.New(t0)}
	if !proto.Equal(l, want) {
		t.Errorf("LinkPB = %v", l)
	}
	e := fullEntitlement()
	d := pbconv.DownloadPB(app.Download{FetchURL: "https://x/f", FetchExpire: t1, Variant: e.Variants[0], Entitlement: e,
		ActivityID: "a1"})
	if d.GetFetchUrl() != "https://x/f" || !d.GetFetchExpireTime().AsTime().Equal(t1) || d.GetVariant().GetFileName() != "SW_DVD9.ISO" ||
		d.GetEntitlementId() != "e1" || d.GetActivityId() != "a1" {
		t.Errorf("DownloadPB = %v", d)
	}
}

// An activity record maps with its actor's organisation kind and roles as contract enums and a
// refused download's reason.
func TestActivityPB(t *testing.T) {
	a := domain.Activity{ID: "a1", Action: domain.ActionDownloadRefused,
		Actor: domain.Actor{UserID: "u1", DisplayName: "Ann", OrgID: "p1", OrgKind: "PARTNER",
			Roles: []string{"ADMIN_AGENT", "GLOBAL_ADMIN", "NO_SUCH_ROLE"}},
		PartnerID: "p1", CustomerID: "c1", EntitlementID: "e1", KeyID: "k1", MaskedKey: "*****-*****-*****-*****-7QX4M",
		ProductName: "Office", VariantID: "v1", LinkID: "dl", Time: t0, PeerAddress: "10.0.0.1:5000", UserAgent: "curl/8",
		RefusalReason: "ENTITLEMENT_REVOKED"}
	got := pbconv.ActivityPB(a)
	want := &keysv1.ActivityRecord{ActivityId: "a1", Action: keysv1.ActivityAction_ACTIVITY_ACTION_DOWNLOAD_REFUSED,
		Actor: &keysv1.Actor{UserId: "u1", UserDisplayName: "Ann", OrgId: "p1", OrgKind: commonv1.OrgKind_ORG_KIND_PARTNER,
			Roles: []commonv1.Role{commonv1.Role_ROLE_ADMIN_AGENT, commonv1.Role_ROLE_GLOBAL_ADMIN, commonv1.Role_ROLE_UNSPECIFIED}},
		CustomerId: "c1", EntitlementId: "e1", KeyId: "k1", MaskedKey: "*****-*****-*****-*****-7QX4M", ProductName: "Office",
		VariantId: "v1", LinkId: "dl", OccurTime: timestamppb.New(t0), PeerAddress: "10.0.0.1:5000", UserAgent: "curl/8",
		RefusalReason: commonv1.ErrorReason_ERROR_REASON_ENTITLEMENT_REVOKED}
	if !proto.Equal(got, want) {
		t.Errorf("ActivityPB =\n%v\nwant\n%v", got, want)
	}
	// An anonymous download: no actor fields, no refusal.
	anon := pbconv.ActivityPB(domain.Activity{ID: "a2", Action: domain.ActionDownloadStarted, Time: t0})
	if anon.GetActor().GetOrgKind() != commonv1.OrgKind_ORG_KIND_UNSPECIFIED || len(anon.GetActor().GetRoles()) != 0 ||
		anon.GetRefusalReason() != commonv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		t.Errorf("anonymous %v", anon)
	}
	if n := len(pbconv.ActivitiesPB([]domain.Activity{a, a})); n != 2 {
		t.Errorf("ActivitiesPB: %d", n)
	}
}

func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.InvalidArgument || len(e.Violations) != 1 || e.Violations[0].Field != field {
		t.Errorf("error %v, want INVALID_ARGUMENT on %s", err, field)
	}
}

// Request times: unset is the zero time, a valid one its instant in UTC, an invalid one
// INVALID_ARGUMENT naming the field.
func TestTime(t *testing.T) {
	if got, err := pbconv.Time("start_time", nil); err != nil || !got.IsZero() {
		t.Errorf("unset: %v %v", got, err)
	}
	if got, err := pbconv.Time("start_time", timestamppb.New(t0)); err != nil || !got.Equal(t0) || got.Location() != time.UTC {
		t.Errorf("valid: %v %v", got, err)
	}
	_, err := pbconv.Time("end_time", &timestamppb.Timestamp{Seconds: 1, Nanos: -1})
	wantInvalid(t, err, "end_time")
	_, err = pbconv.Time("start_time", &timestamppb.Timestamp{Seconds: 1 << 40})
	wantInvalid(t, err, "start_time")
}

// Request durations: unset is 0, a negative or invalid one INVALID_ARGUMENT naming the field.
func TestDuration(t *testing.T) {
	if got, err := pbconv.Duration("ttl", nil); err != nil || got != 0 {
		t.Errorf("unset: %v %v", got, err)
	}
	if got, err := pbconv.Duration("ttl", durationpb.New(90*time.Minute)); err != nil || got != 90*time.Minute {
		t.Errorf("valid: %v %v", got, err)
	}
	_, err := pbconv.Duration("ttl", durationpb.New(-time.Second))
	wantInvalid(t, err, "ttl")
	_, err = pbconv.Duration("ttl", &durationpb.Duration{Seconds: 1, Nanos: -5})
	wantInvalid(t, err, "ttl")
	_, err = pbconv.Duration("ttl", &durationpb.Duration{Seconds: 1 << 62})
	wantInvalid(t, err, "ttl")
}

func TestEtag(t *testing.T) {
	if got := pbconv.Etag(domain.Entitlement{Version: 12}); got != "v12" {
		t.Errorf("Etag = %q", got)
	}
}

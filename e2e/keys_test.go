package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
)

// TestE2E_Keys_IssueRevealDownload_NoKeyInLogs_KD8 runs a software purchase's key path through the
// real keys container, with its logs at debug level: the order saga (a service token acting for
// the partner's Admin agent) issues a MAK key and two download variants; the Admin agent reveals
// the key (KD-3), creates a download link and the link is resolved anonymously (KD-4); the
// partner's Global admin reads the three actions in the activity log (KD-6). Then no line of the
// service's log holds the whole key, with or without its dashes (KD-8).
func TestE2E_Keys_IssueRevealDownload_NoKeyInLogs_KD8(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	ents := keysv1.NewEntitlementServiceClient(stack.Conn("keys"))
	start := stack.Now(ctx, t) // keys runs on the stack's fake clock: its activity log too

	saga := withToken(ctx, tn.sagaToken(t, ctx))
	issued, err := ents.IssueEntitlements(saga, &keysv1.IssueEntitlementsRequest{
		RequestId: uuid.NewString(), OrderId: uuid.NewString(), OrderLineId: uuid.NewString(),
		CustomerId: tn.customerID, PartnerId: tn.partnerID, SkuId: "DG7GMGF0D7FV:0002", ProductId: "DG7GMGF0D7FV",
		ProductName: "Windows Server 2022 Standard", Quantity: 16, KeyType: keysv1.KeyType_KEY_TYPE_MAK, KeyCount: 1,
		DownloadVariants: []*keysv1.DownloadVariant{
			{VariantId: "en-iso", Version: "2022", Language: "en-US", FileType: "ISO", OperatingSystem: "Windows x64",
				FileName: "SW_DVD9_Win_Server_2022_English.ISO", SizeBytes: 5 << 30},
			{VariantId: "de-iso", Version: "2022", Language: "de-DE", FileType: "ISO", OperatingSystem: "Windows x64",
				FileName: "SW_DVD9_Win_Server_2022_German.ISO", SizeBytes: 5 << 30},
		},
	})
	if err != nil {
		t.Fatalf("IssueEntitlements: %v", err)
	}
	e := issued.GetEntitlement()
	if len(e.GetKeys()) != 1 || !strings.HasPrefix(e.GetKeys()[0].GetMaskedKey(), "*****-") {
		t.Fatalf("issued keys %v; want one masked MAK key", e.GetKeys())
	}

	agent := withToken(ctx, tn.agentToken)
	rev, err := ents.RevealKey(agent, &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: e.GetKeys()[0].GetKeyId()})
	if err != nil {
		t.Fatalf("RevealKey: %v", err)
	}
	key := rev.GetKey()
	if len(key) != 29 || key[24:] != e.GetKeys()[0].GetMaskedKey()[24:] {
		t.Fatalf("revealed key of %d characters does not end like %s", len(key), e.GetKeys()[0].GetMaskedKey())
	}
	link, err := ents.CreateDownloadLink(agent, &keysv1.CreateDownloadLinkRequest{RequestId: uuid.NewString(),
		EntitlementId: e.GetEntitlementId(), VariantId: "de-iso", Ttl: durationpb.New(time.Hour)})
	if err != nil {
		t.Fatalf("CreateDownloadLink: %v", err)
	}
	// The link is what a customer gets by mail: resolved with no token at all.
	dl, err := ents.ResolveDownloadLink(ctx, &keysv1.ResolveDownloadLinkRequest{RequestId: uuid.NewString(),
		Link: link.GetLink().GetUrl(), ClientAddress: "198.51.100.23", UserAgent: "e2e"})
	if err != nil {
		t.Fatalf("ResolveDownloadLink: %v", err)
	}
	if !strings.HasSuffix(dl.GetFetchUrl(), "SW_DVD9_Win_Server_2022_German.ISO") {
		t.Errorf("fetch URL %q", dl.GetFetchUrl())
	}

	log, err := keysv1.NewActivityLogServiceClient(stack.Conn("keys")).ListActivity(withToken(ctx, tn.adminToken),
		&keysv1.ListActivityRequest{StartTime: timestamppb.New(start.Add(-time.Minute)), EndTime: timestamppb.New(start.Add(time.Minute)),
			CustomerId: tn.customerID})
	if err != nil {
		t.Fatalf("ListActivity: %v", err)
	}
	var actions []keysv1.ActivityAction
	for _, r := range log.GetRecords() {
		actions = append(actions, r.GetAction())
	}
	want := []keysv1.ActivityAction{keysv1.ActivityAction_ACTIVITY_ACTION_KEY_REVEALED,
		keysv1.ActivityAction_ACTIVITY_ACTION_DOWNLOAD_LINK_CREATED, keysv1.ActivityAction_ACTIVITY_ACTION_DOWNLOAD_STARTED}
	if len(actions) != len(want) || actions[0] != want[0] || actions[1] != want[1] || actions[2] != want[2] {
		t.Errorf("activity %v, want %v", actions, want)
	}

	logs, err := stack.Logs(ctx, "keys")
	if err != nil {
		t.Fatalf("keys logs: %v", err)
	}
	if !strings.Contains(logs, "RevealKey") {
		t.Fatalf("the keys service's log does not show the RevealKey call: is it logging at debug level?")
	}
	bare := strings.ReplaceAll(key, "-", "")
	for i, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, key) || strings.Contains(strings.ReplaceAll(line, "-", ""), bare) {
			t.Fatalf("log line %d holds the whole key (KD-8)", i+1)
		}
	}
}

// sagaToken is a service token acting for the tenant's Admin agent, as the order saga holds.
func (tn lifecycleTenant) sagaToken(t *testing.T, ctx context.Context) string {
	t.Helper()
	tok, err := identityv1.NewTokenServiceClient(stack.Conn("identity")).IssueServiceToken(ctx, &identityv1.IssueServiceTokenRequest{
		ClientId: "svc_operator", ClientSecret: operatorSecret,
		OnBehalfOf: &identityv1.Principal{Subject: tn.agentUserID, OrgId: tn.partnerID,
			OrgKind: commonv1.OrgKind_ORG_KIND_PARTNER, Roles: []commonv1.Role{commonv1.Role_ROLE_ADMIN_AGENT}},
	})
	if err != nil {
		t.Fatalf("IssueServiceToken on behalf of the Admin agent: %v", err)
	}
	return tok.GetAccessToken().GetToken()
}

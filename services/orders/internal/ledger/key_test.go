package ledger

import (
	"errors"
	"testing"
)

func TestDeriveKey(t *testing.T) {
	tests := []struct {
		name        string
		src         Source
		installment int
		want        string
		wantErr     bool
	}{
		{"subscription event", Source{Kind: SourceSubscriptionEvent, SubscriptionID: "s1", EventID: "e1"}, 0, "subscription-event/e1", false},
		{"event key ignores the subscription and order", Source{Kind: SourceSubscriptionEvent, SubscriptionID: "s2", OrderID: "o9", EventID: "e1"}, 0, "subscription-event/e1", false},
		{"event without ID", Source{Kind: SourceSubscriptionEvent, SubscriptionID: "s1"}, 0, "", true},
		{"event with installment 1 (the event's own key is 0)", Source{Kind: SourceSubscriptionEvent, EventID: "e1"}, 1, "", true},
		{"a renewal's later installment", Source{Kind: SourceSubscriptionEvent, EventID: "e1"}, 2, "subscription-event/e1/2", false},
		{"support request with installment", Source{Kind: SourceSupportRequest, SupportRequestID: "r1"}, 2, "", true},
		{"order line installment", Source{Kind: SourceOrderLine, OrderID: "o1", LineID: "l1"}, 3, "order-line/o1/l1/3", false},
		{"order line installment 0", Source{Kind: SourceOrderLine, OrderID: "o1", LineID: "l1"}, 0, "", true},
		{"order line without line", Source{Kind: SourceOrderLine, OrderID: "o1"}, 1, "", true},
		{"order cancellation", Source{Kind: SourceOrderCancellation, OrderID: "o1", LineID: "l1"}, 0, "order-cancellation/o1/l1", false},
		{"IDs are escaped", Source{Kind: SourceOrderCancellation, OrderID: "o/1", LineID: "l"}, 0, "order-cancellation/o%2F1/l", false},
		{"support request", Source{Kind: SourceSupportRequest, SupportRequestID: "r1"}, 0, "support-request/r1", false},
		{"blank ID", Source{Kind: SourceSupportRequest, SupportRequestID: "  "}, 0, "", true},
		{"unknown kind", Source{EventID: "e1"}, 0, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := DeriveKey(tc.src, tc.installment)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidSource) {
					t.Fatalf("err %v, want ErrInvalidSource", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.String() != tc.want {
				t.Errorf("key %q, want %q", k, tc.want)
			}
		})
	}
}

func TestDeriveKeyDistinguishes(t *testing.T) {
	keys := map[string]Source{}
	srcs := []struct {
		src Source
		n   int
	}{
		{Source{Kind: SourceOrderLine, OrderID: "a/b", LineID: "c"}, 1},
		{Source{Kind: SourceOrderLine, OrderID: "a", LineID: "b/c"}, 1},
		{Source{Kind: SourceOrderLine, OrderID: "a", LineID: "b"}, 1},
		{Source{Kind: SourceOrderLine, OrderID: "a", LineID: "b"}, 2},
		{Source{Kind: SourceOrderCancellation, OrderID: "a", LineID: "b"}, 0},
		{Source{Kind: SourceSubscriptionEvent, EventID: "a"}, 0},
		{Source{Kind: SourceSupportRequest, SupportRequestID: "a"}, 0},
	}
	for _, s := range srcs {
		k, err := DeriveKey(s.src, s.n)
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := keys[k.String()]; dup {
			t.Errorf("%+v and %+v share key %s", prev, s.src, k)
		}
		keys[k.String()] = s.src
	}
	// Same source, same key: comparable with ==.
	a, _ := DeriveKey(Source{Kind: SourceSubscriptionEvent, EventID: "e"}, 0)
	b, _ := DeriveKey(Source{Kind: SourceSubscriptionEvent, EventID: "e", SubscriptionID: "x"}, 0)
	if a != b {
		t.Errorf("%s != %s", a, b)
	}
}

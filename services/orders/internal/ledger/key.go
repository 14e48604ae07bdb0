package ledger

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ErrInvalidSource: a source lacks the IDs its kind needs, or an installment number does not
// fit its kind.
var ErrInvalidSource = errors.New("ledger: invalid entry source")

// EntryKey identifies the cause of an entry. The ledger stores each key at most once (a unique
// index on EntryKey.String()), so a replayed event, a retried saga step or a re-run of the
// billing-plan schedule never adds a second entry (OR-7).
//
// What is unique, per source kind:
//   - SourceSubscriptionEvent: the event ID, and for a renewal's later installments their number
//     2…n (EntriesFromEvent). The same event ID never produces an entry twice, whatever its
//     payload, subscription or kind; the subscription ID is not part of the key.
//   - SourceOrderLine: (order ID, line ID, installment number 1…n): one charge per installment
//     of the line's billing plan.
//   - SourceOrderCancellation: (order ID, line ID): one credit per cancelled line.
//   - SourceSupportRequest: the support request ID: one refund per granted request.
type EntryKey struct {
	// Source is the source kind.
	Source SourceKind
	// Installment is the 1-based installment number for SourceOrderLine, else 0.
	Installment int
	// s is the canonical string, which holds the IDs; keys are comparable with ==.
	s string
}

// DeriveKey derives the idempotency key of an entry from its source. installment is the 1-based
// installment number for SourceOrderLine and must be 0 for every other kind. IDs are
// path-escaped in the canonical string, so an ID containing "/" cannot collide with another
// pair of IDs.
func DeriveKey(src Source, installment int) (EntryKey, error) {
	need := func(name, v string) error {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("%w: %s is empty", ErrInvalidSource, name)
		}
		return nil
	}
	var prefix string
	var ids []string
	switch src.Kind {
	case SourceSubscriptionEvent:
		if err := need("event ID", src.EventID); err != nil {
			return EntryKey{}, err
		}
		prefix, ids = "subscription-event", []string{src.EventID}
	case SourceOrderLine, SourceOrderCancellation:
		if err := errors.Join(need("order ID", src.OrderID), need("line ID", src.LineID)); err != nil {
			return EntryKey{}, err
		}
		prefix, ids = "order-line", []string{src.OrderID, src.LineID}
		if src.Kind == SourceOrderCancellation {
			prefix = "order-cancellation"
		}
	case SourceSupportRequest:
		if err := need("support request ID", src.SupportRequestID); err != nil {
			return EntryKey{}, err
		}
		prefix, ids = "support-request", []string{src.SupportRequestID}
	default:
		return EntryKey{}, fmt.Errorf("%w: unknown source kind %d", ErrInvalidSource, src.Kind)
	}
	switch {
	case src.Kind == SourceOrderLine:
		if installment < 1 {
			return EntryKey{}, fmt.Errorf("%w: order-line installment %d, want ≥ 1", ErrInvalidSource, installment)
		}
	case src.Kind == SourceSubscriptionEvent:
		// A renewal's later installments (EntriesFromEvent); its first is the event's own key.
		if installment == 1 || installment < 0 {
			return EntryKey{}, fmt.Errorf("%w: event installment %d, want 0 (the event) or ≥ 2", ErrInvalidSource, installment)
		}
	case installment != 0:
		return EntryKey{}, fmt.Errorf("%w: installment %d given for a source without installments", ErrInvalidSource, installment)
	}
	var b strings.Builder
	b.WriteString(prefix)
	for _, id := range ids {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(id))
	}
	if installment > 0 {
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(installment))
	}
	return EntryKey{Source: src.Kind, Installment: installment, s: b.String()}, nil
}

// String is the canonical key, e.g. "subscription-event/<event ID>",
// "order-line/<order>/<line>/3", "order-cancellation/<order>/<line>",
// "support-request/<id>". It is what the store makes unique.
func (k EntryKey) String() string { return k.s }

// IsZero reports whether the key is unset.
func (k EntryKey) IsZero() bool { return k.s == "" }

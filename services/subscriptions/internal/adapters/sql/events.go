package sql

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// The events feed. A consumer reads "events after sequence n" and moves its cursor to the last
// sequence it saw, so sequences must follow commit order: if a transaction could commit sequence
// 7 after another committed 8, a reader at cursor 8 would never see 7. An engine sequence (or
// AUTOINCREMENT) hands numbers out in the order transactions ask, not the order they commit, so
// AppendEvents takes its numbers from the single event_counter row instead, inside the
// appending transaction. On PostgreSQL the row lock makes a second appender wait until the
// first ends; under SERIALIZABLE it then fails and runs again with a fresh snapshot (Store.Tx
// makes that second attempt lock the counter first), so its numbers are higher and its commit is
// later. SQLite has one writer at a time anyway. The price is that appenders serialize from their
// AppendEvents to their commit: append last, and a batch's events in one call.

const eventCols = `sequence, event_id, type, partner_id, customer_id, subscription_id, event_time, request_id,
	state, payload`

// insertEvent writes one event. SQLite gets one per event (tx.exec, compiled once per
// connection): a statement that writes several rows keeps a statement journal of every page it
// touches, in case it fails halfway.
const insertEvent = `INSERT INTO events (` + eventCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// insertEvents is insertEvent for many events at once (PostgreSQL, one round trip): parameter n
// is the array of insertEvent's $n over the events.
const insertEvents = `INSERT INTO events (` + eventCols + `)
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::timestamp[], $8::text[], $9::text[], $10::text[])`

// AppendEvents implements app.Tx.
func (t *tx) AppendEvents(ctx context.Context, evs ...domain.Event) ([]domain.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	out := make([]domain.Event, len(evs))
	payloads := make([]string, len(evs))
	for i, e := range evs {
		p, err := encodePayload(&e)
		if err != nil {
			return nil, err
		}
		e.Time = store.Time(e.Time)
		out[i], payloads[i] = e, p
	}
	var last int64
	t.appended = true
	err := t.q.QueryRowContext(ctx, `UPDATE event_counter SET last_sequence = last_sequence + $1 WHERE id = 1
		RETURNING last_sequence`, int64(len(evs))).Scan(&last)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("allocate event sequences: %w", err))
	}
	first := last - int64(len(evs)) + 1
	for i := range out {
		out[i].Sequence = first + int64(i)
	}
	rows := make([][]any, len(out))
	for i, e := range out {
		rows[i] = []any{e.Sequence, e.ID, string(e.Type), e.PartnerID, e.CustomerID, e.SubscriptionID, e.Time,
			e.RequestID, string(e.State), payloads[i]}
	}
	if t.s.db.Engine() == store.Postgres {
		if _, err := t.q.ExecContext(ctx, insertEvents, columns(rows)...); err != nil {
			return nil, store.MapError(fmt.Errorf("append events: %w", err))
		}
		return out, nil
	}
	for _, vals := range rows {
		if _, err := t.exec(ctx, insertEvent, vals...); err != nil {
			return nil, store.MapError(fmt.Errorf("append events: %w", err))
		}
	}
	return out, nil
}

// Events implements app.Store: by primary key, or by the (partner_id | customer_id, sequence)
// indexes; a subscription filter without a customer's scans the feed from q.After (the app adds
// the subscription's customer, see migration 005).
func (s *Store) Events(ctx context.Context, q app.EventQuery) ([]domain.Event, error) {
	var a store.Args
	where := []string{"sequence > " + a.Arg(q.After)}
	if q.PartnerID != "" {
		where = append(where, "partner_id = "+a.Arg(q.PartnerID))
	}
	if q.CustomerID != "" {
		where = append(where, "customer_id = "+a.Arg(q.CustomerID))
	}
	if q.SubscriptionID != "" {
		where = append(where, "subscription_id = "+a.Arg(q.SubscriptionID))
	}
	if len(q.Types) > 0 {
		in := make([]string, len(q.Types))
		for i, typ := range q.Types {
			in[i] = a.Arg(string(typ))
		}
		where = append(where, "type IN ("+strings.Join(in, ", ")+")")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventCols+` FROM events`+store.Where(where)+
		` ORDER BY sequence`+store.Limit(&a, q.Limit), a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list events: %w", err))
	}
	defer rows.Close()
	var out []domain.Event
	for rows.Next() {
		var e domain.Event
		var typ, state, payload string
		if err := rows.Scan(&e.Sequence, &e.ID, &typ, &e.PartnerID, &e.CustomerID, &e.SubscriptionID, &e.Time,
			&e.RequestID, &state, &payload); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		e.Type, e.State, e.Time = domain.EventType(typ), domain.State(state), e.Time.UTC()
		if err := decodePayload(&e, payload); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, store.MapError(fmt.Errorf("list events: %w", err))
	}
	return out, nil
}

// LastSequence implements app.Store. The counter and the events it numbered commit together, so
// the counter is the highest committed sequence.
func (s *Store) LastSequence(ctx context.Context) (int64, error) {
	var last int64
	if err := s.db.QueryRowContext(ctx, `SELECT last_sequence FROM event_counter WHERE id = 1`).Scan(&last); err != nil {
		return 0, store.MapError(fmt.Errorf("last event sequence: %w", err))
	}
	return last, nil
}

// payloadOf returns a pointer to the payload pointer of e that matches e.Type, for encoding/json
// to read or fill. The payload column holds that payload's JSON (null when it is nil); the other
// pointers are not stored.
func payloadOf(e *domain.Event) (any, error) {
	switch e.Type {
	case domain.EventCreated:
		return &e.Created, nil
	case domain.EventRenewed:
		return &e.Renewed, nil
	case domain.EventQuantityChanged:
		return &e.QuantityChanged, nil
	case domain.EventSuspended:
		return &e.Suspended, nil
	case domain.EventReactivated:
		return &e.Reactivated, nil
	case domain.EventExpired:
		return &e.Expired, nil
	case domain.EventDisabled:
		return &e.Disabled, nil
	case domain.EventDeleted:
		return &e.Deleted, nil
	case domain.EventCancelled:
		return &e.Cancelled, nil
	case domain.EventTransferred:
		return &e.Transferred, nil
	case domain.EventRenewalReminder:
		return &e.RenewalReminder, nil
	case domain.EventPenalty:
		return &e.Penalty, nil
	case domain.EventAutoRenewChanged:
		return &e.AutoRenewChanged, nil
	case domain.EventChannelConverted:
		return &e.ChannelConverted, nil
	}
	return nil, fmt.Errorf("event %s has unknown type %q", e.ID, e.Type)
}

func encodePayload(e *domain.Event) (string, error) {
	p, err := payloadOf(e)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode payload of event %s: %w", e.ID, err)
	}
	return string(b), nil
}

func decodePayload(e *domain.Event, payload string) error {
	p, err := payloadOf(e)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(payload), p); err != nil {
		return fmt.Errorf("payload of event %s: %w", e.ID, err)
	}
	return nil
}

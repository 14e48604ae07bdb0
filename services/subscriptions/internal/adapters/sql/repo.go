// Package sql is the subscriptions' store on pkg/store (SQLite or PostgreSQL, one dialect):
// subscriptions, the events feed and the provisioning saga's steps (app.Store).
//
// Schema (migrations/002_subscriptions.sql): every scalar field of a subscription is a column;
// the seat lots and the reminders sent are compact text in the subscription's row, read and
// written whole with it. next_due is not part of the domain: the store computes it with the
// injected domain.NextDue on every insert and update, so ClaimDue is one indexed range scan.
//
// Performance: a lifecycle sweep claims and updates hundreds of rows per transaction. On SQLite
// (modernc, pure Go) the cost per row is mostly the driver's own; the adapter prepares the
// statements a transaction runs many times once (tx.exec), keeps the lots out of JSON, and the
// schema's CHECKs avoid IN lists. An update writes only the columns that changed (updates.go). On
// PostgreSQL every statement is a round trip, so a transaction's subscription updates go out
// batched (tx.flush) and its events as one statement (insertEvents).
package sql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// Store implements app.Store.
type Store struct {
	db      *store.DB
	nextDue func(domain.Subscription) (time.Time, bool)
	// forUpdate locks the rows a transaction reads to change: PostgreSQL runs transactions
	// concurrently; SQLite has no FOR UPDATE and needs none, because InTx holds its write lock
	// from BEGIN.
	forUpdate, skipLocked string
}

// New returns the store over db. nextDue says when the lifecycle engine must next look at a
// subscription (false: never); the store evaluates it on every insert and update.
func New(db *store.DB, nextDue func(domain.Subscription) (time.Time, bool)) *Store {
	s := &Store{db: db, nextDue: nextDue, forUpdate: db.ForUpdate()}
	if s.forUpdate != "" {
		s.skipLocked = s.forUpdate + " SKIP LOCKED"
	}
	return s
}

var _ app.Store = (*Store)(nil)

// ---- subscriptions ----

// subCols are the columns scanSubscription reads, in the order subValues binds them ($1..$31);
// next_due ($32) is only written.
const subCols = `id, customer_id, partner_id, sku_id, product_id, display_name, kind, state, channel,
	quantity, max_quantity, lots, billing_plan, term, term_start, term_end, auto_renew, unit_price_minor,
	currency_code, cancellation_policy, window_days, order_id, purchase_time, state_time, reminders_sent,
	pending_transfer_id, version, created_at, updated_at, moved_in, licensed_users`

const insertSub = `INSERT INTO subscriptions (` + subCols + `, next_due) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
	$9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30,
	$31, $32)`

// subValues returns the values of insertSub's $1..$32 for s (the columns of subColumns).
func (s *Store) subValues(sub domain.Subscription) ([]any, error) {
	vals, err := rowOf(sub)
	if err != nil {
		return nil, err
	}
	var due any // NULL: never due
	if s.nextDue != nil {
		if t, ok := s.nextDue(sub); ok {
			due = store.Time(t)
		}
	}
	return append(vals, due), nil
}

// rowOf is subValues without next_due ($1..$31).
func rowOf(sub domain.Subscription) ([]any, error) {
	lots, err := encodeLots(sub.Lots)
	if err != nil {
		return nil, fmt.Errorf("encode lots of subscription %s: %w", sub.ID, err)
	}
	licensed, err := encodeUsers(sub.LicensedUserIDs)
	if err != nil {
		return nil, fmt.Errorf("encode licensed users of subscription %s: %w", sub.ID, err)
	}
	vals := make([]any, 0, len(subColumns))
	return append(vals, sub.ID, sub.CustomerID, sub.PartnerID, sub.SkuID, sub.ProductID, sub.DisplayName,
		string(sub.Kind), string(sub.State), string(sub.Channel), sub.Quantity, sub.MaxQuantity, lots,
		string(sub.Plan), string(sub.Term), store.Time(sub.TermStart), store.Time(sub.TermEnd), sub.AutoRenew,
		sub.UnitPrice.Minor, sub.UnitPrice.Currency, string(sub.Policy), sub.WindowDays, sub.OrderID,
		store.Time(sub.PurchaseTime), store.Time(sub.StateTime), encodeReminders(sub.RemindersSent),
		sub.PendingTransferID, sub.Version, store.Time(sub.CreateTime), store.Time(sub.UpdateTime),
		store.NullTime(sub.MovedInTime), licensed), nil
}

func scanSubscription(row store.Scanner) (domain.Subscription, error) {
	var s domain.Subscription
	var kind, state, channel, lots, plan, term, policy, reminders, licensed string
	var movedIn sql.NullTime
	if err := row.Scan(&s.ID, &s.CustomerID, &s.PartnerID, &s.SkuID, &s.ProductID, &s.DisplayName, &kind, &state,
		&channel, &s.Quantity, &s.MaxQuantity, &lots, &plan, &term, &s.TermStart, &s.TermEnd, &s.AutoRenew,
		&s.UnitPrice.Minor, &s.UnitPrice.Currency, &policy, &s.WindowDays, &s.OrderID, &s.PurchaseTime,
		&s.StateTime, &reminders, &s.PendingTransferID, &s.Version, &s.CreateTime, &s.UpdateTime, &movedIn,
		&licensed); err != nil {
		return domain.Subscription{}, err
	}
	s.MovedInTime = store.TimeOf(movedIn)
	s.Kind, s.State, s.Channel = domain.ProductKind(kind), domain.State(state), domain.Channel(channel)
	s.Plan, s.Term, s.Policy = domain.BillingPlan(plan), domain.Term(term), domain.CancellationPolicy(policy)
	for _, t := range []*time.Time{&s.TermStart, &s.TermEnd, &s.PurchaseTime, &s.StateTime, &s.CreateTime, &s.UpdateTime} {
		*t = t.UTC()
	}
	var err error
	if s.Lots, err = decodeLots(lots); err != nil {
		return domain.Subscription{}, fmt.Errorf("lots of subscription %s: %w", s.ID, err)
	}
	if s.RemindersSent, err = decodeReminders(reminders); err != nil {
		return domain.Subscription{}, fmt.Errorf("reminders of subscription %s: %w", s.ID, err)
	}
	s.LicensedUserIDs = decodeUsers(licensed)
	return s, nil
}

func scanSubscriptions(rows *sql.Rows) ([]domain.Subscription, error) {
	return store.Collect(rows, "subscriptions", scanSubscription)
}

func getSubscription(ctx context.Context, q store.Querier, id, lock string) (domain.Subscription, error) {
	return store.GetByID(ctx, q, "subscription", `SELECT `+subCols+` FROM subscriptions WHERE id = $1`+lock, id, scanSubscription)
}

// Subscription implements app.Store.
func (s *Store) Subscription(ctx context.Context, id string) (domain.Subscription, error) {
	return getSubscription(ctx, s.db, id, "")
}

// Subscriptions implements app.Store. The customer and partner filters use the (customer_id,
// created_at, id) and (partner_id, created_at, id) indexes, which also give the keyset order.
func (s *Store) Subscriptions(ctx context.Context, q app.ListQuery) ([]domain.Subscription, error) {
	var a store.Args
	var where []string
	if q.CustomerID != "" {
		where = append(where, "customer_id = "+a.Arg(q.CustomerID))
	}
	if q.PartnerID != "" {
		where = append(where, "partner_id = "+a.Arg(q.PartnerID))
	}
	if len(q.States) > 0 {
		in := make([]string, len(q.States))
		for i, st := range q.States {
			in[i] = a.Arg(string(st))
		}
		where = append(where, "state IN ("+strings.Join(in, ", ")+")")
	}
	if q.Channel != "" {
		where = append(where, "channel = "+a.Arg(string(q.Channel)))
	}
	if q.SkuID != "" {
		where = append(where, "sku_id = "+a.Arg(q.SkuID))
	}
	if !q.HideSoftwareBoughtBefore.IsZero() { // SU-11
		where = append(where, "NOT (kind = "+a.Arg(string(domain.KindSoftwareSubscription))+
			" AND purchase_time < "+a.Arg(store.Time(q.HideSoftwareBoughtBefore))+")")
	}
	if !q.AfterCreateTime.IsZero() || q.AfterID != "" {
		where = append(where, "(created_at, id) > ("+a.Arg(store.Time(q.AfterCreateTime))+", "+a.Arg(q.AfterID)+")")
	}
	query := `SELECT ` + subCols + ` FROM subscriptions` + store.Where(where) + ` ORDER BY created_at, id` +
		store.Limit(&a, q.Limit)
	rows, err := s.db.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list subscriptions: %w", err))
	}
	out, err := scanSubscriptions(rows)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return out, nil
}

// ---- transactions ----

// Tx implements app.Store with store.DB.InTx: SERIALIZABLE on PostgreSQL, SQLite's write lock
// from BEGIN. A serialization failure or deadlock runs fn again (up to 10 times), so fn must have
// no effects outside the transaction. On PostgreSQL, UpdateSubscription's writes wait for the
// transaction's next read of subscriptions or the end of fn (see there).
//
// On PostgreSQL, appenders conflict on the event counter (see AppendEvents): each one that waited
// for another fails with a serialization failure once that one commits, because its snapshot
// predates the other's counter. Under load that could exhaust the retries, so an attempt that
// follows one that appended events first locks the counter table, before any statement takes its
// snapshot: it waits for the appenders ahead of it and then sees their counter, so the counter
// fails each transaction at most once.
func (s *Store) Tx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.tx(ctx, s.db.InTx, fn)
}

// LockingTx implements app.Store with store.DB.InTxLocking (READ COMMITTED on PostgreSQL). Every
// read of app.Tx that precedes a change locks its rows (Claim, Subscription, Transfer), and every
// change is guarded by a version, which is what InTxLocking asks.
func (s *Store) LockingTx(ctx context.Context, fn func(ctx context.Context, tx app.Tx) error) error {
	return s.tx(ctx, s.db.InTxLocking, fn)
}

// Writers implements app.Store: SQLite has one writer at a time.
func (s *Store) Writers() int {
	if s.db.Engine() == store.SQLite {
		return 1
	}
	return 2
}

func (s *Store) tx(ctx context.Context, inTx func(context.Context, func(*sql.Tx) error) error,
	fn func(ctx context.Context, tx app.Tx) error) error {
	lockFeed := false
	return inTx(ctx, func(sqlTx *sql.Tx) error {
		if lockFeed {
			if _, err := sqlTx.ExecContext(ctx, `LOCK TABLE event_counter IN EXCLUSIVE MODE`); err != nil {
				return store.MapError(fmt.Errorf("lock the event counter: %w", err))
			}
		}
		t := &tx{s: s, q: sqlTx}
		err := fn(ctx, t)
		if err == nil {
			err = t.flush(ctx)
		}
		lockFeed = t.appended && s.db.Engine() == store.Postgres
		return err
	})
}

// tx implements app.Tx over one transaction.
type tx struct {
	s *Store
	q *sql.Tx
	// appended is set when the transaction allocated event sequences (see Store.Tx).
	appended bool
	// updates holds the single-row updates built in it by set of columns (see UpdateSubscription).
	updates map[uint64]string
	// read holds the column values of the subscriptions this transaction read or wrote, as the
	// stored row has them; UpdateSubscription writes only the columns that differ (see there).
	read map[string]rowValues
	// pending holds the updates not sent yet (PostgreSQL only, see UpdateSubscription),
	// pendingIDs their subscription IDs.
	pending    []rowUpdate
	pendingIDs map[string]bool
}

// exec runs a statement that a transaction may run hundreds of times (UpdateSubscription in a
// sweep's batch). Both engines keep it compiled per connection (pgx; on SQLite pkg/store's
// statement cache). modernc's SQLite also starts a goroutine per statement to watch a cancellable
// context, which costs about as much as a single-row UPDATE, so on SQLite exec checks ctx itself
// and runs the statement without its cancellation: it ends within microseconds, and database/sql
// rolls the whole transaction back when ctx ends.
func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.s.db.Engine() != store.SQLite {
		return t.q.ExecContext(ctx, query, args...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return t.q.ExecContext(context.WithoutCancel(ctx), query, args...)
}

// Subscription implements app.Tx.
func (t *tx) Subscription(ctx context.Context, id string) (domain.Subscription, error) {
	if err := t.flush(ctx); err != nil {
		return domain.Subscription{}, err
	}
	sub, err := getSubscription(ctx, t.q, id, t.s.forUpdate)
	if err != nil {
		return domain.Subscription{}, err
	}
	return sub, t.remember(sub)
}

// InsertSubscription implements app.Tx. A subscription ID in use is ALREADY_EXISTS.
func (t *tx) InsertSubscription(ctx context.Context, sub domain.Subscription) error {
	if sub.Version != 1 {
		return fmt.Errorf("insert subscription %s: version %d, want 1", sub.ID, sub.Version)
	}
	vals, err := t.s.subValues(sub)
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, insertSub, vals...); err != nil {
		if store.IsUniqueViolation(err) {
			return errs.New(errs.AlreadyExists, "", "subscription %q already exists", sub.ID).Wrap(err)
		}
		return store.MapError(fmt.Errorf("insert subscription %s: %w", sub.ID, err))
	}
	t.keep(sub.ID, sub.Version, vals)
	return nil
}

// columns turns rows of statement arguments into one argument per column, each the column's
// values as a slice (pgx binds it as the array the statement casts it to).
func columns(rows [][]any) []any {
	cols := make([]any, len(rows[0]))
	for i := range cols {
		col := make([]any, len(rows))
		for j, vals := range rows {
			col[j] = vals[i]
		}
		cols[i] = col
	}
	return cols
}

// staleError is the error of an update of subscription id that found no row with version want.
func (t *tx) staleError(ctx context.Context, id string, want int64) error {
	var version int64
	err := t.q.QueryRowContext(ctx, `SELECT version FROM subscriptions WHERE id = $1`, id).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFoundf("subscription", id)
	}
	if err != nil {
		return store.MapError(fmt.Errorf("update subscription %s: %w", id, err))
	}
	return errs.New(errs.Aborted, errs.ReasonEtagMismatch,
		"subscription %q was changed concurrently: version %d is stored, the update is based on %d",
		id, version, want)
}

// CountActive implements app.Tx. Under SERIALIZABLE the count is a predicate read, so two
// transactions that both count and then insert for the same customer cannot both commit.
func (t *tx) CountActive(ctx context.Context, customerID string) (int, error) {
	if err := t.flush(ctx); err != nil {
		return 0, err
	}
	return countActive(ctx, t.q, customerID)
}

// CountActive implements app.Store: committed data, outside any transaction.
func (s *Store) CountActive(ctx context.Context, customerID string) (int, error) {
	return countActive(ctx, s.db, customerID)
}

// countActiveQuery reads the partial index subscriptions_active alone (007_active_by_customer.sql):
// it runs twice for every order placed (SU-13). The states are literals, as in the index's
// condition: with parameters neither engine could tell that the index holds every row asked for.
const countActiveQuery = `SELECT COUNT(*) FROM subscriptions WHERE customer_id = $1 AND state IN ('` +
	string(domain.StateActive) + `', '` + string(domain.StateSuspended) + `')`

func countActive(ctx context.Context, q store.Querier, customerID string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, countActiveQuery, customerID).Scan(&n)
	if err != nil {
		return 0, store.MapError(fmt.Errorf("count active subscriptions of %s: %w", customerID, err))
	}
	return n, nil
}

// Due implements app.Store: the due rows in (next_due, id) order from the partial next_due index,
// read without a transaction (committed data; on SQLite in WAL mode beside a writer).
func (s *Store) Due(ctx context.Context, now time.Time, after app.DueCursor, limit int) (app.DueBatch, error) {
	var a store.Args
	where := []string{"next_due IS NOT NULL", "next_due <= " + a.Arg(store.Time(now))}
	if after.ID != "" {
		where = append(where, "(next_due, id) > ("+a.Arg(store.Time(after.Due))+", "+a.Arg(after.ID)+")")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+subCols+`, next_due FROM subscriptions`+store.Where(where)+
		` ORDER BY next_due, id`+store.Limit(&a, limit), a...)
	if err != nil {
		return app.DueBatch{}, store.MapError(fmt.Errorf("read due subscriptions: %w", err))
	}
	b := app.DueBatch{After: after, Last: after}
	b.Subs, err = store.Collect(rows, "due subscriptions", func(r store.Scanner) (domain.Subscription, error) {
		var due time.Time
		sub, err := scanSubscription(extraScan{r, []any{&due}})
		b.Last = app.DueCursor{Due: due.UTC(), ID: sub.ID}
		return sub, err
	})
	if err != nil {
		return app.DueBatch{}, fmt.Errorf("read due subscriptions: %w", err)
	}
	return b, nil
}

// extraScan scans the columns a scan function knows and then extra.
type extraScan struct {
	store.Scanner
	extra []any
}

func (e extraScan) Scan(dest ...any) error { return e.Scanner.Scan(append(dest, e.extra...)...) }

// Claim implements app.Tx. One statement reads the versions of the batch's range of the next_due
// index, (b.After, b.Last], and locks those rows (PostgreSQL: FOR UPDATE, skipping rows another
// transaction holds; SQLite's transaction holds the write lock from BEGIN). A subscription of
// the batch whose next_due changed since it was read has a new version too, so it does not
// matter that it may have left the range; a row that entered the range is not in the batch.
func (t *tx) Claim(ctx context.Context, b app.DueBatch) ([]domain.Subscription, error) {
	if len(b.Subs) == 0 {
		return nil, nil
	}
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	var a store.Args
	where := []string{"next_due IS NOT NULL",
		"(next_due, id) <= (" + a.Arg(store.Time(b.Last.Due)) + ", " + a.Arg(b.Last.ID) + ")"}
	if b.After.ID != "" {
		where = append(where, "(next_due, id) > ("+a.Arg(store.Time(b.After.Due))+", "+a.Arg(b.After.ID)+")")
	}
	//nolint:gosec // G202: the conditions are constant text and a.Arg placeholders; values go in a
	rows, err := t.q.QueryContext(ctx, `SELECT id, version FROM subscriptions`+store.Where(where)+t.s.skipLocked, a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("claim due subscriptions: %w", err))
	}
	locked, err := store.Collect(rows, "claimed subscriptions", func(r store.Scanner) (idVersion, error) {
		var v idVersion
		err := r.Scan(&v.id, &v.version)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim due subscriptions: %w", err)
	}
	stored := make(map[string]int64, len(locked))
	for _, v := range locked {
		stored[v.id] = v.version
	}
	var out []domain.Subscription
	for _, sub := range b.Subs {
		if v, ok := stored[sub.ID]; ok && v == sub.Version {
			if err := t.remember(sub); err != nil {
				return nil, err
			}
			out = append(out, sub)
		}
	}
	return out, nil
}

type idVersion struct {
	id      string
	version int64
}

// The lots, reminders and licensed users columns. All are read and written with every row the
// lifecycle sweep claims, so they are plain delimited text rather than JSON: encoding/json costs
// more per row than everything else the adapter does in Go.
//
//	lots            id,quantity,add time (Unix microseconds),order ID,unit price minor,currency;...
//	reminders_sent  60,30
//	licensed_users  user ID,user ID

// lotSeparators may not occur in a lot's text fields (IDs and currency codes never hold them).
const lotSeparators = ",;"

func encodeLots(lots []domain.SeatLot) (string, error) {
	var b strings.Builder
	for i, l := range lots {
		if strings.ContainsAny(l.ID+l.OrderID+l.UnitPrice.Currency, lotSeparators) {
			return "", fmt.Errorf("lot %q: a field holds one of %q", l.ID, lotSeparators)
		}
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(l.ID)
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(int64(l.Quantity), 10))
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(l.AddTime.UnixMicro(), 10))
		b.WriteByte(',')
		b.WriteString(l.OrderID)
		b.WriteByte(',')
		b.WriteString(strconv.FormatInt(l.UnitPrice.Minor, 10))
		b.WriteByte(',')
		b.WriteString(l.UnitPrice.Currency)
	}
	return b.String(), nil
}

func decodeLots(s string) ([]domain.SeatLot, error) {
	if s == "" {
		return nil, nil
	}
	var lots []domain.SeatLot
	for lot := range strings.SplitSeq(s, ";") {
		f := strings.Split(lot, ",")
		if len(f) != 6 {
			return nil, fmt.Errorf("malformed lot %q", lot)
		}
		qty, err1 := strconv.ParseInt(f[1], 10, 32)
		added, err2 := strconv.ParseInt(f[2], 10, 64)
		price, err3 := strconv.ParseInt(f[4], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("malformed lot %q: %w", lot, err)
		}
		lots = append(lots, domain.SeatLot{ID: f[0], Quantity: int32(qty), AddTime: time.UnixMicro(added).UTC(),
			OrderID: f[3], UnitPrice: domain.Money{Minor: price, Currency: f[5]}})
	}
	return lots, nil
}

func encodeReminders(days []int32) string {
	var b strings.Builder
	for i, d := range days {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(int64(d), 10))
	}
	return b.String()
}

func decodeReminders(s string) ([]int32, error) {
	if s == "" {
		return nil, nil
	}
	var days []int32
	for f := range strings.SplitSeq(s, ",") {
		d, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, err
		}
		days = append(days, int32(d))
	}
	return days, nil
}

// encodeUsers joins user IDs with ','; an ID holding one (never a UUID) cannot be stored.
func encodeUsers(ids []string) (string, error) {
	for _, id := range ids {
		if id == "" || strings.Contains(id, ",") {
			return "", fmt.Errorf("user ID %q is empty or holds a ','", id)
		}
	}
	return strings.Join(ids, ","), nil
}

func decodeUsers(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

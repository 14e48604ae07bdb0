// Package sql is catalog's repository on pkg/store (SQLite or PostgreSQL, one dialect): the read
// path app.Reads and the write transactions of app.Repository.
package sql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// ReadsMetric counts repository reads by operation, so a benchmark (and an operator) can see how
// many lookups the cache kept from the database.
const ReadsMetric = "partnerhub_catalog_store_reads_total"

// NewReadCounter returns the ReadsMetric counter, labelled by op; register it on the service's
// registry.
func NewReadCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: ReadsMetric,
		Help: "Catalog repository reads that reached the database, by operation.",
	}, []string{"op"})
}

// Repo implements app.Repository.
type Repo struct {
	db    *store.DB
	reads *prometheus.CounterVec // nil: not counted
}

// New returns the repository over db, counting its reads on reads (may be nil).
func New(db *store.DB, reads *prometheus.CounterVec) *Repo { return &Repo{db: db, reads: reads} }

var _ app.Repository = (*Repo)(nil)

func (r *Repo) count(op string) {
	if r.reads != nil {
		r.reads.WithLabelValues(op).Inc()
	}
}

// ---- products ----

const productCols = `p.product_id, p.display_name, p.description, p.kind, p.publisher, p.sales_programs,
	p.etag, p.created_at, p.updated_at, (SELECT COUNT(*) FROM skus c WHERE c.product_id = p.product_id)`

func scanProduct(row store.Scanner, extra ...any) (domain.Product, error) {
	var p domain.Product
	var kind, programs string
	dest := append([]any{&p.ID, &p.DisplayName, &p.Description, &kind, &p.Publisher, &programs,
		&p.Etag, &p.CreateTime, &p.UpdateTime, &p.SkuCount}, extra...)
	if err := row.Scan(dest...); err != nil {
		return domain.Product{}, err
	}
	p.Kind = domain.ProductKind(kind)
	for _, s := range split(programs) {
		p.SalesPrograms = append(p.SalesPrograms, domain.SalesProgram(s))
	}
	p.CreateTime, p.UpdateTime = p.CreateTime.UTC(), p.UpdateTime.UTC()
	return p, nil
}

func getProduct(ctx context.Context, q store.Querier, id string) (domain.Product, bool, error) {
	p, err := scanProduct(q.QueryRowContext(ctx, `SELECT `+productCols+` FROM products p WHERE p.product_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Product{}, false, nil
	}
	if err != nil {
		return domain.Product{}, false, store.MapError(fmt.Errorf("read product %s: %w", id, err))
	}
	return p, true, nil
}

// Product implements app.Reads.
func (r *Repo) Product(ctx context.Context, id string) (domain.Product, error) {
	r.count("product")
	p, ok, err := getProduct(ctx, r.db, id)
	if err == nil && !ok {
		err = errs.NotFoundf("product", id)
	}
	return p, err
}

// soldIn is the SQL condition "SKU s is sold in the country bound at placeholder c" (CA-2).
func soldIn(c string) string {
	return `((s.availability_mode = 'ALL_EXCEPT_LISTED' AND NOT EXISTS (SELECT 1 FROM sku_markets m WHERE m.sku_id = s.sku_id AND m.country_code = ` + c + `))
		OR (s.availability_mode = 'ONLY_LISTED' AND EXISTS (SELECT 1 FROM sku_markets m WHERE m.sku_id = s.sku_id AND m.country_code = ` + c + `)))`
}

// Products implements app.Reads.
func (r *Repo) Products(ctx context.Context, q app.ProductQuery) ([]domain.Product, error) {
	r.count("products")
	var a store.Args
	var where []string
	if q.Kind != "" {
		where = append(where, "p.kind = "+a.Arg(string(q.Kind)))
	}
	if q.Country != "" {
		where = append(where, `EXISTS (SELECT 1 FROM skus s WHERE s.product_id = p.product_id AND NOT s.discontinued AND `+
			soldIn(a.Arg(q.Country))+`)`)
	}
	if q.After != "" {
		where = append(where, "p.product_id > "+a.Arg(q.After))
	}
	query := `SELECT ` + productCols + ` FROM products p` + store.Where(where) + ` ORDER BY p.product_id LIMIT ` + a.Arg(q.Limit)
	rows, err := r.db.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list products: %w", err))
	}
	return store.Collect(rows, "products", func(row store.Scanner) (domain.Product, error) { return scanProduct(row) })
}

// ---- SKUs ----

const skuFrom = ` FROM skus s JOIN products p ON p.product_id = s.product_id`

const skuCols = `s.sku_id, s.product_id, p.kind, s.display_name, s.description, s.term_options, s.cancellation_kind,
	s.cancellation_window_days, s.autorenew_enabled, s.autorenew_effective_from, s.autorenew_renewable, s.key_type,
	s.download_variants, s.installation_instructions_url, s.maximum_quantity, s.availability_mode,
	s.availability_countries, s.ahb_max_saving_percent, s.discontinued, s.discontinued_at, s.equivalent_sku_id,
	s.etag, s.created_at, s.updated_at`

// termOptionRow and variantRow are the JSON shapes of the term_options and download_variants
// columns.
type termOptionRow struct {
	Term  string   `json:"term"`
	Plans []string `json:"plans"`
}

type variantRow struct {
	ID              string `json:"id"`
	Version         string `json:"version,omitempty"`
	Language        string `json:"language,omitempty"`
	FileType        string `json:"file_type,omitempty"`
	OperatingSystem string `json:"os,omitempty"`
	SizeBytes       int64  `json:"size,omitempty"`
}

func scanSku(row store.Scanner, extra ...any) (domain.Sku, error) {
	var s domain.Sku
	var kind, terms, cancelKind, keyType, variants, mode, countries string
	var effective, discontinued sql.NullTime
	dest := append([]any{&s.ID, &s.ProductID, &kind, &s.DisplayName, &s.Description, &terms, &cancelKind,
		&s.Cancellation.WindowDays, &s.AutoRenew.Enabled, &effective, &s.AutoRenew.Renewable, &keyType,
		&variants, &s.InstallationInstructionsURL, &s.MaximumQuantity, &mode,
		&countries, &s.AHBMaxSavingPercent, &s.Discontinued, &discontinued, &s.EquivalentSkuID,
		&s.Etag, &s.CreateTime, &s.UpdateTime}, extra...)
	if err := row.Scan(dest...); err != nil {
		return domain.Sku{}, err
	}
	s.ProductKind = domain.ProductKind(kind)
	s.Cancellation.Kind = domain.CancellationKind(cancelKind)
	s.KeyType = domain.KeyType(keyType)
	s.Availability.Mode = domain.AvailabilityMode(mode)
	s.Availability.Countries = split(countries)
	s.AutoRenew.EffectiveFrom, s.DiscontinueTime = store.TimeOf(effective), store.TimeOf(discontinued)
	s.CreateTime, s.UpdateTime = s.CreateTime.UTC(), s.UpdateTime.UTC()
	var opts []termOptionRow
	if err := json.Unmarshal([]byte(terms), &opts); err != nil {
		return domain.Sku{}, fmt.Errorf("term_options of SKU %s: %w", s.ID, err)
	}
	for _, o := range opts {
		t := domain.TermOption{Term: domain.Term(o.Term)}
		for _, p := range o.Plans {
			t.Plans = append(t.Plans, domain.BillingPlan(p))
		}
		s.TermOptions = append(s.TermOptions, t)
	}
	var vs []variantRow
	if err := json.Unmarshal([]byte(variants), &vs); err != nil {
		return domain.Sku{}, fmt.Errorf("download_variants of SKU %s: %w", s.ID, err)
	}
	for _, v := range vs {
		s.DownloadVariants = append(s.DownloadVariants, domain.DownloadVariant{ID: v.ID, Version: v.Version,
			Language: v.Language, FileType: v.FileType, OperatingSystem: v.OperatingSystem, SizeBytes: v.SizeBytes})
	}
	return s, nil
}

func getSku(ctx context.Context, q store.Querier, id string) (domain.Sku, bool, error) {
	s, err := scanSku(q.QueryRowContext(ctx, `SELECT `+skuCols+skuFrom+` WHERE s.sku_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Sku{}, false, nil
	}
	if err != nil {
		return domain.Sku{}, false, store.MapError(fmt.Errorf("read SKU %s: %w", id, err))
	}
	return s, true, nil
}

// Sku implements app.Reads.
func (r *Repo) Sku(ctx context.Context, id string) (domain.Sku, error) {
	r.count("sku")
	s, ok, err := getSku(ctx, r.db, id)
	if err == nil && !ok {
		err = errs.NotFoundf("sku", id)
	}
	return s, err
}

// Skus implements app.Reads.
func (r *Repo) Skus(ctx context.Context, q app.SkuQuery) ([]domain.Sku, error) {
	r.count("skus")
	var a store.Args
	var where []string
	if q.ProductID != "" {
		where = append(where, "s.product_id = "+a.Arg(q.ProductID))
	}
	if q.Kind != "" {
		where = append(where, "p.kind = "+a.Arg(string(q.Kind)))
	}
	if q.Country != "" {
		where = append(where, soldIn(a.Arg(q.Country)))
	}
	if !q.IncludeDiscontinued {
		where = append(where, "NOT s.discontinued")
	}
	if q.After != "" {
		where = append(where, "s.sku_id > "+a.Arg(q.After))
	}
	query := `SELECT ` + skuCols + skuFrom + store.Where(where) + ` ORDER BY s.sku_id LIMIT ` + a.Arg(q.Limit)
	rows, err := r.db.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list SKUs: %w", err))
	}
	return store.Collect(rows, "SKUs", func(row store.Scanner) (domain.Sku, error) { return scanSku(row) })
}

// ---- prices ----

const priceCols = `sku_id, country_code, term, billing_plan, amount_minor, currency_code, etag, created_at, updated_at`

func scanPrice(row store.Scanner) (domain.Price, error) {
	var p domain.Price
	var term, plan string
	if err := row.Scan(&p.SkuID, &p.CountryCode, &term, &plan, &p.BillingPeriodPrice.AmountMinor,
		&p.BillingPeriodPrice.CurrencyCode, &p.Etag, &p.CreateTime, &p.UpdateTime); err != nil {
		return domain.Price{}, err
	}
	p.Term, p.Plan = domain.Term(term), domain.BillingPlan(plan)
	p.CreateTime, p.UpdateTime = p.CreateTime.UTC(), p.UpdateTime.UTC()
	return p, nil
}

func getPrice(ctx context.Context, q store.Querier, k domain.PriceKey) (domain.Price, bool, error) {
	p, err := scanPrice(q.QueryRowContext(ctx, `SELECT `+priceCols+` FROM prices
		WHERE sku_id = $1 AND country_code = $2 AND term = $3 AND billing_plan = $4`,
		k.SkuID, k.CountryCode, string(k.Term), string(k.Plan)))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Price{}, false, nil
	}
	if err != nil {
		return domain.Price{}, false, store.MapError(fmt.Errorf("read price %v: %w", k, err))
	}
	return p, true, nil
}

// Price implements app.Reads.
func (r *Repo) Price(ctx context.Context, k domain.PriceKey) (domain.Price, error) {
	r.count("price")
	p, ok, err := getPrice(ctx, r.db, k)
	if err == nil && !ok {
		err = errs.NotFoundf("price", fmt.Sprintf("%s/%s/%s/%s", k.SkuID, k.CountryCode, k.Term, k.Plan))
	}
	return p, err
}

func queryPrices(ctx context.Context, q store.Querier, query string, a ...any) ([]domain.Price, error) {
	rows, err := q.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("read prices: %w", err))
	}
	return store.Collect(rows, "prices", scanPrice)
}

// ---- offers ----

// Offers implements app.Reads: one query for the page of SKUs with their products, one for their
// prices in the market.
func (r *Repo) Offers(ctx context.Context, q app.OfferQuery) ([]app.Offer, error) {
	r.count("offers")
	var a store.Args
	c := a.Arg(q.Country)
	where := []string{"NOT s.discontinued", "(p.program_mask & " + a.Arg(q.ProgramMask) + ") <> 0", soldIn(c)}
	if q.Kind != "" {
		where = append(where, "p.kind = "+a.Arg(string(q.Kind)))
	}
	if q.ProductID != "" {
		where = append(where, "s.product_id = "+a.Arg(q.ProductID))
	}
	if q.After != "" {
		where = append(where, "s.sku_id > "+a.Arg(q.After))
	}
	query := `SELECT ` + skuCols + `, ` + productCols + skuFrom + store.Where(where) + ` ORDER BY s.sku_id LIMIT ` + a.Arg(q.Limit)
	rows, err := r.db.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list offers: %w", err))
	}
	var out []app.Offer
	index := map[string]int{}
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			var o app.Offer
			var kind, programs string
			p := &o.Product
			s, err := scanSku(rows, &p.ID, &p.DisplayName, &p.Description, &kind, &p.Publisher, &programs,
				&p.Etag, &p.CreateTime, &p.UpdateTime, &p.SkuCount)
			if err != nil {
				return fmt.Errorf("scan offer: %w", err)
			}
			o.Sku = s
			p.Kind = domain.ProductKind(kind)
			for _, sp := range split(programs) {
				p.SalesPrograms = append(p.SalesPrograms, domain.SalesProgram(sp))
			}
			p.CreateTime, p.UpdateTime = p.CreateTime.UTC(), p.UpdateTime.UTC()
			index[s.ID] = len(out)
			out = append(out, o)
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, store.MapError(fmt.Errorf("list offers: %w", err))
	}
	if len(out) == 0 {
		return nil, nil
	}
	var pa store.Args
	pc := pa.Arg(q.Country)
	ids := make([]string, len(out))
	for i, o := range out {
		ids[i] = pa.Arg(o.Sku.ID)
	}
	prices, err := queryPrices(ctx, r.db, `SELECT `+priceCols+` FROM prices WHERE country_code = `+pc+
		` AND sku_id IN (`+strings.Join(ids, ", ")+`) ORDER BY sku_id, term, billing_plan`, pa...)
	if err != nil {
		return nil, err
	}
	for _, p := range prices {
		o := &out[index[p.SkuID]]
		o.Prices = append(o.Prices, p)
	}
	return out, nil
}

// Empty implements app.Repository.
func (r *Repo) Empty(ctx context.Context) (bool, error) {
	r.count("empty")
	var one int
	err := r.db.QueryRowContext(ctx, `SELECT 1 FROM products LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, store.MapError(fmt.Errorf("catalog empty: %w", err))
	}
	return false, nil
}

// ---- transactions ----

// Write implements app.Repository: fn's reads and writes share one transaction (SERIALIZABLE on
// PostgreSQL, the write lock on SQLite).
func (r *Repo) Write(ctx context.Context, fn func(tx app.Tx) error) error {
	return r.db.InTx(ctx, func(tx *sql.Tx) error { return fn(&txRepo{r: r, q: tx}) })
}

// Snapshot implements app.Repository.
func (r *Repo) Snapshot(ctx context.Context, fn func(tx app.TxReader) error) error {
	return r.db.InTx(ctx, func(tx *sql.Tx) error { return fn(&txRepo{r: r, q: tx}) })
}

// txRepo implements app.Tx over one transaction.
type txRepo struct {
	r *Repo
	q store.Querier
}

func (t *txRepo) Product(ctx context.Context, id string) (domain.Product, bool, error) {
	t.r.count("tx_product")
	return getProduct(ctx, t.q, id)
}

func (t *txRepo) Sku(ctx context.Context, id string) (domain.Sku, bool, error) {
	t.r.count("tx_sku")
	return getSku(ctx, t.q, id)
}

func (t *txRepo) Price(ctx context.Context, k domain.PriceKey) (domain.Price, bool, error) {
	t.r.count("tx_price")
	return getPrice(ctx, t.q, k)
}

func (t *txRepo) SkuIDs(ctx context.Context, productID string) ([]string, error) {
	t.r.count("tx_sku_ids")
	rows, err := t.q.QueryContext(ctx, `SELECT sku_id FROM skus WHERE product_id = $1 ORDER BY sku_id`, productID)
	if err != nil {
		return nil, store.MapError(fmt.Errorf("SKUs of product %s: %w", productID, err))
	}
	return store.Collect(rows, "SKU IDs", func(row store.Scanner) (string, error) {
		var id string
		err := row.Scan(&id)
		return id, err
	})
}

func (t *txRepo) Prices(ctx context.Context, skuID string) ([]domain.Price, error) {
	t.r.count("tx_prices")
	return queryPrices(ctx, t.q, `SELECT `+priceCols+` FROM prices WHERE sku_id = $1
		ORDER BY country_code, term, billing_plan`, skuID)
}

func (t *txRepo) PutProduct(ctx context.Context, p domain.Product, created bool) error {
	programs := make([]string, len(p.SalesPrograms))
	for i, sp := range p.SalesPrograms {
		programs[i] = string(sp)
	}
	vals := []any{p.ID, p.DisplayName, p.Description, string(p.Kind), p.Publisher, strings.Join(programs, ","),
		domain.ProgramMask(p.SalesPrograms...), p.Etag, store.Time(p.CreateTime), store.Time(p.UpdateTime)}
	q := `UPDATE products SET display_name = $2, description = $3, kind = $4, publisher = $5, sales_programs = $6,
		program_mask = $7, etag = $8, created_at = $9, updated_at = $10 WHERE product_id = $1`
	if created {
		q = `INSERT INTO products (product_id, display_name, description, kind, publisher, sales_programs,
			program_mask, etag, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	}
	if _, err := t.q.ExecContext(ctx, q, vals...); err != nil {
		return store.MapError(fmt.Errorf("write product %s: %w", p.ID, err))
	}
	return nil
}

func (t *txRepo) PutSku(ctx context.Context, s domain.Sku, created bool) error {
	opts := make([]termOptionRow, len(s.TermOptions))
	for i, o := range s.TermOptions {
		opts[i] = termOptionRow{Term: string(o.Term), Plans: make([]string, len(o.Plans))}
		for j, p := range o.Plans {
			opts[i].Plans[j] = string(p)
		}
	}
	variants := make([]variantRow, len(s.DownloadVariants))
	for i, v := range s.DownloadVariants {
		variants[i] = variantRow{ID: v.ID, Version: v.Version, Language: v.Language, FileType: v.FileType,
			OperatingSystem: v.OperatingSystem, SizeBytes: v.SizeBytes}
	}
	optsJSON, err := json.Marshal(opts)
	if err != nil {
		return fmt.Errorf("encode term options of %s: %w", s.ID, err)
	}
	variantsJSON, err := json.Marshal(variants)
	if err != nil {
		return fmt.Errorf("encode download variants of %s: %w", s.ID, err)
	}
	vals := []any{s.ID, s.ProductID, s.DisplayName, s.Description, string(optsJSON), string(s.Cancellation.Kind),
		s.Cancellation.WindowDays, s.AutoRenew.Enabled, store.NullTime(s.AutoRenew.EffectiveFrom), s.AutoRenew.Renewable,
		string(s.KeyType), string(variantsJSON), s.InstallationInstructionsURL, s.MaximumQuantity,
		string(s.Availability.Mode), strings.Join(s.Availability.Countries, ","), s.AHBMaxSavingPercent,
		s.Discontinued, store.NullTime(s.DiscontinueTime), s.EquivalentSkuID, s.Etag,
		store.Time(s.CreateTime), store.Time(s.UpdateTime)}
	q := `UPDATE skus SET product_id = $2, display_name = $3, description = $4, term_options = $5,
		cancellation_kind = $6, cancellation_window_days = $7, autorenew_enabled = $8, autorenew_effective_from = $9,
		autorenew_renewable = $10, key_type = $11, download_variants = $12, installation_instructions_url = $13,
		maximum_quantity = $14, availability_mode = $15, availability_countries = $16, ahb_max_saving_percent = $17,
		discontinued = $18, discontinued_at = $19, equivalent_sku_id = $20, etag = $21, created_at = $22,
		updated_at = $23 WHERE sku_id = $1`
	if created {
		q = `INSERT INTO skus (sku_id, product_id, display_name, description, term_options, cancellation_kind,
			cancellation_window_days, autorenew_enabled, autorenew_effective_from, autorenew_renewable, key_type,
			download_variants, installation_instructions_url, maximum_quantity, availability_mode,
			availability_countries, ahb_max_saving_percent, discontinued, discontinued_at, equivalent_sku_id, etag,
			created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`
	}
	if _, err := t.q.ExecContext(ctx, q, vals...); err != nil {
		return store.MapError(fmt.Errorf("write SKU %s: %w", s.ID, err))
	}
	// The market rows follow the SKU's list: replaced whole, in the same transaction.
	if _, err := t.q.ExecContext(ctx, `DELETE FROM sku_markets WHERE sku_id = $1`, s.ID); err != nil {
		return store.MapError(fmt.Errorf("write markets of SKU %s: %w", s.ID, err))
	}
	if len(s.Availability.Countries) == 0 {
		return nil
	}
	var a store.Args
	id := a.Arg(s.ID)
	values := make([]string, len(s.Availability.Countries))
	for i, c := range s.Availability.Countries {
		values[i] = "(" + id + ", " + a.Arg(c) + ")"
	}
	if _, err := t.q.ExecContext(ctx, `INSERT INTO sku_markets (sku_id, country_code) VALUES `+strings.Join(values, ", "), a...); err != nil {
		return store.MapError(fmt.Errorf("write markets of SKU %s: %w", s.ID, err))
	}
	return nil
}

func (t *txRepo) PutPrice(ctx context.Context, p domain.Price, created bool) error {
	vals := []any{p.SkuID, p.CountryCode, string(p.Term), string(p.Plan), p.BillingPeriodPrice.AmountMinor,
		p.BillingPeriodPrice.CurrencyCode, p.Etag, store.Time(p.CreateTime), store.Time(p.UpdateTime)}
	q := `UPDATE prices SET amount_minor = $5, currency_code = $6, etag = $7, created_at = $8, updated_at = $9
		WHERE sku_id = $1 AND country_code = $2 AND term = $3 AND billing_plan = $4`
	if created {
		q = `INSERT INTO prices (` + priceCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	}
	if _, err := t.q.ExecContext(ctx, q, vals...); err != nil {
		return store.MapError(fmt.Errorf("write price %s/%s/%s/%s: %w", p.SkuID, p.CountryCode, p.Term, p.Plan, err))
	}
	return nil
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

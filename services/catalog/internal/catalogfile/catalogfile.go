// Package catalogfile reads the catalog file format (services/catalog/FORMAT.md): YAML or JSON
// with the same structure, field names as the contract's, enum values without their prefix.
//
// Both encodings are read into one YAML node tree (JSON is YAML) and walked by hand, so that every
// problem is reported, not just the first: an unknown field, a value of the wrong type, a bad
// time — each as a field violation at "<sku_id or product_id>.<field path>" with its line and
// column. A syntax error ends the reading; it is reported at "content" with its position. The
// rules about values (formats, CA-5, CA-10, ...) are the domain's, checked on the result.
package catalogfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// Format is the encoding of a catalog file.
type Format int

// The formats.
const (
	YAML Format = iota + 1
	JSON
)

// Parse reads a catalog file. The violations list every problem of the file's shape (unknown
// fields, types); a file with none may still break the domain's rules (domain.CheckCatalog).
// readable is false when the file could not be read at all (empty, not UTF-8, a syntax error):
// then the one violation is at "content", with the position for a syntax error (line and column
// for JSON; line for YAML, whose parser tells no column).
func Parse(content []byte, f Format) (c domain.Catalog, v errs.Violations, readable bool) {
	if len(bytes.TrimSpace(content)) == 0 {
		v.Add("content", "the file is empty")
		return domain.Catalog{}, v, false
	}
	if !utf8.Valid(content) {
		v.Add("content", "must be UTF-8 text")
		return domain.Catalog{}, v, false
	}
	if f == JSON {
		if err := checkJSON(content); err != nil {
			v.Add("content", "%v", err)
			return domain.Catalog{}, v, false
		}
		root, err := jsonTree(content)
		if err != nil { // checkJSON accepted it: cannot happen
			v.Add("content", "%v", err)
			return domain.Catalog{}, v, false
		}
		r := reader{}
		c = r.catalog(root)
		return c, r.v, true
	}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		v.Add("content", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return domain.Catalog{}, v, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		v.Add("content", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return domain.Catalog{}, v, false
	default:
		v.Add("content", "a catalog file holds one YAML document (a second one starts at line %d)", extra.Line)
		return domain.Catalog{}, v, false
	}
	r := reader{}
	c = r.catalog(docOf(&root))
	return c, r.v, true
}

// checkJSON reports a JSON syntax error with its line and column.
func checkJSON(content []byte) error {
	dec := json.NewDecoder(bytes.NewReader(content))
	dec.UseNumber()
	var x any
	err := dec.Decode(&x)
	if err == nil {
		if _, err2 := dec.Token(); !errors.Is(err2, io.EOF) {
			return fmt.Errorf("%s: unexpected data after the JSON value", position(content, dec.InputOffset()))
		}
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the offending byte too: point at it.
		return fmt.Errorf("%s: %s", position(content, se.Offset-1), se.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: unexpected end of JSON input", position(content, int64(len(content))))
	}
	return err
}

// position is "line L, column C" (1-based, columns in characters) of a byte offset.
func position(content []byte, off int64) string {
	off = min(max(off, 0), int64(len(content)))
	before := content[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return fmt.Sprintf("line %d, column %d", line, col)
}

// jsonTree reads a JSON document that checkJSON accepted into the node tree the reader walks,
// each node with its line and column. JSON is not handed to the YAML parser: it refuses some
// RFC 8259 text (a surrogate-pair escape such as "\ud83d\ude00", which many JSON encoders write
// for characters outside the BMP; a raw DEL) and reads some differently (a raw U+0085 in a
// string is a YAML line break, read as a space).
func jsonTree(content []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(content))
	dec.UseNumber()
	var node func() (*yaml.Node, error)
	node = func() (*yaml.Node, error) {
		start := dec.InputOffset()
		for start < int64(len(content)) && bytes.IndexByte([]byte(" \t\r\n,:"), content[start]) >= 0 {
			start++
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		n := &yaml.Node{Kind: yaml.ScalarNode}
		before := content[:start]
		n.Line = bytes.Count(before, []byte("\n")) + 1
		n.Column = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
		switch t := tok.(type) {
		case json.Delim:
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
			if t == '[' {
				n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
			}
			for dec.More() {
				item, err := node() // in a mapping, keys and values alternate, as in YAML's
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, item)
			}
			if _, err := dec.Token(); err != nil { // the closing delimiter
				return nil, err
			}
		case string:
			n.Tag, n.Value, n.Style = "!!str", t, yaml.DoubleQuotedStyle
		case json.Number:
			n.Tag, n.Value = "!!int", string(t)
			if strings.ContainsAny(n.Value, ".eE") {
				n.Tag = "!!float"
			}
		case bool:
			n.Tag, n.Value = "!!bool", fmt.Sprint(t)
		case nil:
			n.Tag, n.Value = "!!null", "null"
		}
		return n, nil
	}
	return node()
}

func docOf(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0]
	}
	return n
}

// reader walks the node tree, collecting violations.
type reader struct{ v errs.Violations }

func where(n *yaml.Node) string { return fmt.Sprintf("line %d, column %d", n.Line, n.Column) }

func (r *reader) add(loc string, n *yaml.Node, format string, args ...any) {
	if loc == "" {
		loc = "content" // the file as a whole, e.g. a list or a scalar instead of a mapping
	}
	r.v.Add(loc, "%s (%s)", fmt.Sprintf(format, args...), where(n))
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") }

// fields walks a mapping: each known key goes to its handler, each unknown one is a violation.
// A null value stands for the empty mapping (every field at its zero value).
func (r *reader) fields(n *yaml.Node, loc string, handlers map[string]func(loc string, n *yaml.Node)) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		r.add(loc, n, "must be a mapping of fields")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], resolve(n.Content[i+1])
		floc := join(loc, k.Value)
		h, ok := handlers[k.Value]
		switch {
		case !ok:
			r.add(floc, k, "unknown field %q", k.Value)
		case seen[k.Value]:
			r.add(floc, k, "field given twice")
		default:
			seen[k.Value] = true
			h(floc, val)
		}
	}
}

func join(loc, field string) string {
	if loc == "" {
		return field
	}
	return loc + "." + field
}

// lookup returns the scalar value of key in a mapping, for naming a location before reading it.
func lookup(n *yaml.Node, key string) string {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			if v := resolve(n.Content[i+1]); v != nil && v.Kind == yaml.ScalarNode && !isNull(v) {
				return v.Value
			}
		}
	}
	return ""
}

func (r *reader) list(n *yaml.Node, loc string, each func(i int, loc string, n *yaml.Node)) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		r.add(loc, n, "must be a list")
		return
	}
	for i, item := range n.Content {
		each(i, fmt.Sprintf("%s[%d]", loc, i), resolve(item))
	}
}

func (r *reader) str(dst *string) func(string, *yaml.Node) {
	return func(loc string, n *yaml.Node) {
		switch {
		case isNull(n):
			*dst = ""
		case n.Kind != yaml.ScalarNode:
			r.add(loc, n, "must be a string")
		default:
			*dst = n.Value
		}
	}
}

func enum[T ~string](r *reader, dst *T) func(string, *yaml.Node) {
	var s string
	read := r.str(&s)
	return func(loc string, n *yaml.Node) {
		read(loc, n)
		*dst = T(s)
	}
}

func enums[T ~string](r *reader, dst *[]T) func(string, *yaml.Node) {
	return func(loc string, n *yaml.Node) {
		r.list(n, loc, func(_ int, iloc string, item *yaml.Node) {
			var x T
			enum(r, &x)(iloc, item)
			*dst = append(*dst, x)
		})
	}
}

func (r *reader) boolean(dst *bool) func(string, *yaml.Node) {
	return func(loc string, n *yaml.Node) {
		if isNull(n) {
			*dst = false
			return
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(dst) != nil {
			r.add(loc, n, "must be true or false")
		}
	}
}

func (r *reader) int64(dst *int64, lo, hi int64) func(string, *yaml.Node) {
	return func(loc string, n *yaml.Node) {
		if isNull(n) {
			*dst = 0
			return
		}
		var x int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&x) != nil {
			r.add(loc, n, "must be an integer")
			return
		}
		if x < lo || x > hi {
			r.add(loc, n, "must be in %d..%d", lo, hi)
			return
		}
		*dst = x
	}
}

func (r *reader) int32(dst *int32) func(string, *yaml.Node) {
	return func(loc string, n *yaml.Node) {
		var x int64
		r.int64(&x, math.MinInt32, math.MaxInt32)(loc, n)
		*dst = int32(x)
	}
}

func (r *reader) int(dst *int) func(string, *yaml.Node) {
	return func(loc string, n *yaml.Node) {
		var x int64
		r.int64(&x, math.MinInt32, math.MaxInt32)(loc, n)
		*dst = int(x)
	}
}

func (r *reader) time(dst *time.Time) func(string, *yaml.Node) {
	return func(loc string, n *yaml.Node) {
		if isNull(n) || (n.Kind == yaml.ScalarNode && n.Value == "") {
			*dst = time.Time{}
			return
		}
		t, err := time.Parse(time.RFC3339Nano, n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			r.add(loc, n, "must be an RFC 3339 time such as 2021-10-14T00:00:00Z")
			return
		}
		*dst = t.UTC()
	}
}

func (r *reader) catalog(n *yaml.Node) domain.Catalog {
	var c domain.Catalog
	r.fields(n, "", map[string]func(string, *yaml.Node){
		"format_version": r.int(&c.FormatVersion),
		"products": func(loc string, n *yaml.Node) {
			r.list(n, loc, func(i int, _ string, item *yaml.Node) {
				c.Products = append(c.Products, r.product(i, item))
			})
		},
	})
	return c
}

func (r *reader) product(i int, n *yaml.Node) domain.CatalogProduct {
	var cp domain.CatalogProduct
	var statedProducts []stated
	p := &cp.Product
	loc := domain.ProductLoc(i, lookup(n, "product_id"))
	r.fields(n, loc, map[string]func(string, *yaml.Node){
		"product_id":     r.str(&p.ID),
		"display_name":   r.str(&p.DisplayName),
		"description":    r.str(&p.Description),
		"kind":           enum(r, &p.Kind),
		"publisher":      r.str(&p.Publisher),
		"sales_programs": enums(r, &p.SalesPrograms),
		"skus": func(sloc string, n *yaml.Node) {
			r.list(n, sloc, func(j int, _ string, item *yaml.Node) {
				cs, stated := r.sku(loc, j, item)
				cp.Skus = append(cp.Skus, cs)
				statedProducts = append(statedProducts, stated)
			})
		},
	})
	// The SKUs belong to the product they are listed under, whatever order the keys came in; a
	// SKU may restate that product's ID, but not name another.
	for j := range cp.Skus {
		cp.Skus[j].Sku.ProductID = p.ID
		if statedProducts[j].value != "" && statedProducts[j].value != p.ID {
			r.add(join(domain.SkuLoc(loc, j, cp.Skus[j].Sku.ID), "product_id"), statedProducts[j].node,
				"must be the ID of the product the SKU is listed under, %s, or left out", p.ID)
		}
	}
	return cp
}

// stated is a value a file gave, with where it gave it.
type stated struct {
	value string
	node  *yaml.Node
}

func (r *reader) sku(productLoc string, j int, n *yaml.Node) (domain.CatalogSku, stated) {
	var cs domain.CatalogSku
	s := &cs.Sku
	loc := domain.SkuLoc(productLoc, j, lookup(n, "sku_id"))
	var product stated
	r.fields(n, loc, map[string]func(string, *yaml.Node){
		"sku_id": r.str(&s.ID),
		"product_id": func(loc string, n *yaml.Node) {
			product.node = n
			r.str(&product.value)(loc, n)
		},
		"display_name": r.str(&s.DisplayName),
		"description":  r.str(&s.Description),
		"term_options": func(loc string, n *yaml.Node) {
			r.list(n, loc, func(_ int, iloc string, item *yaml.Node) {
				var o domain.TermOption
				r.fields(item, iloc, map[string]func(string, *yaml.Node){
					"term":          enum(r, &o.Term),
					"billing_plans": enums(r, &o.Plans),
				})
				s.TermOptions = append(s.TermOptions, o)
			})
		},
		"cancellation_policy": func(loc string, n *yaml.Node) {
			r.fields(n, loc, map[string]func(string, *yaml.Node){
				"kind":        enum(r, &s.Cancellation.Kind),
				"window_days": r.int32(&s.Cancellation.WindowDays),
			})
		},
		"autorenew_default": func(loc string, n *yaml.Node) {
			r.fields(n, loc, map[string]func(string, *yaml.Node){
				"enabled":        r.boolean(&s.AutoRenew.Enabled),
				"effective_from": r.time(&s.AutoRenew.EffectiveFrom),
				"renewable":      r.boolean(&s.AutoRenew.Renewable),
			})
		},
		"key_type": enum(r, &s.KeyType),
		"download_variants": func(loc string, n *yaml.Node) {
			r.list(n, loc, func(_ int, iloc string, item *yaml.Node) {
				var d domain.DownloadVariant
				r.fields(item, iloc, map[string]func(string, *yaml.Node){
					"variant_id":       r.str(&d.ID),
					"version":          r.str(&d.Version),
					"language":         r.str(&d.Language),
					"file_type":        r.str(&d.FileType),
					"operating_system": r.str(&d.OperatingSystem),
					"size_bytes":       r.int64(&d.SizeBytes, math.MinInt64, math.MaxInt64),
				})
				s.DownloadVariants = append(s.DownloadVariants, d)
			})
		},
		"installation_instructions_url": r.str(&s.InstallationInstructionsURL),
		"maximum_quantity":              r.int32(&s.MaximumQuantity),
		"availability": func(loc string, n *yaml.Node) {
			r.fields(n, loc, map[string]func(string, *yaml.Node){
				"mode": enum(r, &s.Availability.Mode),
				"country_codes": func(loc string, n *yaml.Node) {
					r.list(n, loc, func(_ int, iloc string, item *yaml.Node) {
						var c string
						r.str(&c)(iloc, item)
						s.Availability.Countries = append(s.Availability.Countries, c)
					})
				},
			})
		},
		"azure_hybrid_benefit_max_saving_percent": r.int32(&s.AHBMaxSavingPercent),
		"discontinued":      r.boolean(&s.Discontinued),
		"equivalent_sku_id": r.str(&s.EquivalentSkuID),
		"prices": func(loc string, n *yaml.Node) {
			r.list(n, loc, func(_ int, iloc string, item *yaml.Node) {
				var p domain.Price
				r.fields(item, iloc, map[string]func(string, *yaml.Node){
					"country_code": r.str(&p.CountryCode),
					"term":         enum(r, &p.Term),
					"billing_plan": enum(r, &p.Plan),
					"billing_period_price": func(loc string, n *yaml.Node) {
						r.fields(n, loc, map[string]func(string, *yaml.Node){
							"amount_minor":  r.int64(&p.BillingPeriodPrice.AmountMinor, math.MinInt64, math.MaxInt64),
							"currency_code": r.str(&p.BillingPeriodPrice.CurrencyCode),
						})
					},
				})
				cs.Prices = append(cs.Prices, p)
			})
		},
	})
	for k := range cs.Prices {
		cs.Prices[k].SkuID = s.ID
	}
	return cs, product
}

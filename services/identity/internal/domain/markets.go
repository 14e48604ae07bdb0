package domain

import (
	"fmt"
	"slices"
	"strings"
)

// Market is a country/region the service is offered in (ID-3): the only countries a tenant can
// be created in.
type Market struct {
	CountryCode  string // ISO 3166-1 alpha-2, upper case
	DisplayName  string // English short name
	CurrencyCode string // ISO 4217: the currency prices are quoted in for the market (CA-4)
}

// Markets is the set of markets a deployment serves, ordered by country code.
type Markets struct {
	list  []Market
	index map[string]int
}

// ValidCountryCode reports whether s is well-formed ISO 3166-1 alpha-2 (two upper-case letters).
// Whether it is served is Markets.Lookup's question: malformed input is INVALID_ARGUMENT, a
// well-formed unserved country is COUNTRY_NOT_SUPPORTED (ID-3).
func ValidCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// ParseMarkets returns the markets of a deployment's setting: empty means every built-in market;
// otherwise a comma-separated list of country codes, each of which must be a built-in market.
func ParseMarkets(setting string) (Markets, error) {
	all := builtinMarkets()
	if strings.TrimSpace(setting) == "" {
		return newMarkets(all), nil
	}
	byCode := map[string]Market{}
	for _, m := range all {
		byCode[m.CountryCode] = m
	}
	var list []Market
	seen := map[string]bool{}
	for _, f := range strings.Split(setting, ",") {
		code := strings.ToUpper(strings.TrimSpace(f))
		m, ok := byCode[code]
		if !ok {
			return Markets{}, fmt.Errorf("markets: %q is not a known ISO 3166-1 alpha-2 market", f)
		}
		if !seen[code] {
			seen[code] = true
			list = append(list, m)
		}
	}
	return newMarkets(list), nil
}

func newMarkets(list []Market) Markets {
	slices.SortFunc(list, func(a, b Market) int { return strings.Compare(a.CountryCode, b.CountryCode) })
	idx := make(map[string]int, len(list))
	for i, m := range list {
		idx[m.CountryCode] = i
	}
	return Markets{list: list, index: idx}
}

// Lookup returns the market of a country code, if served.
func (m Markets) Lookup(countryCode string) (Market, bool) {
	i, ok := m.index[countryCode]
	if !ok {
		return Market{}, false
	}
	return m.list[i], true
}

// List returns the markets ordered by country code.
func (m Markets) List() []Market { return slices.Clone(m.list) }

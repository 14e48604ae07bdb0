// Package pbenum maps protobuf enums to the domain's string enums and back. A service's domain
// names its enums as the contract does without the value prefix ("PRODUCT_KIND_ONLINE_SERVICE" ⇄
// "ONLINE_SERVICE"), so one pair of generic functions maps them all: UNSPECIFIED maps to "", a
// number the contract does not know to its digits (which the domain's rules then refuse), and a
// domain value the contract does not know to 0 (UNSPECIFIED).
package pbenum

import "strings"

// Enum is a generated protobuf enum.
type Enum interface{ String() string }

// Name maps a protobuf enum value to the domain's name for it.
func Name[D ~string](e Enum, prefix string) D {
	s := strings.TrimPrefix(e.String(), prefix)
	if s == "UNSPECIFIED" {
		return ""
	}
	return D(s)
}

// Value maps a domain name to the protobuf enum value; values is the generated <Enum>_value map.
func Value[P ~int32, D ~string](values map[string]int32, prefix string, d D) P {
	return P(values[prefix+string(d)])
}

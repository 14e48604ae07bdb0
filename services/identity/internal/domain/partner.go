package domain

import (
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
)

// Program is a partner program enrolment (ID-1), named as in partnerhub.identity.v1.Program
// without its prefix.
type Program string

// Partner is a CSP partner organisation (ID-1).
type Partner struct {
	ID          string
	LegalName   string
	CountryCode string
	Programs    []Program
	Etag        string
	CreateTime  time.Time
	UpdateTime  time.Time
}

// User is a user of a partner or customer organisation, with roles.
type User struct {
	ID          string
	OrgID       string
	OrgKind     auth.OrgKind
	UserName    string
	DisplayName string
	Roles       []auth.Role
	Disabled    bool
	Etag        string
	CreateTime  time.Time
	UpdateTime  time.Time
}

// Principal is the token subject a user stands for.
func (u User) Principal() auth.Principal {
	return auth.Principal{Subject: u.ID, OrgID: u.OrgID, OrgKind: u.OrgKind, Roles: slices.Clone(u.Roles)}
}

// JoinNames and SplitNames store small sets as comma-separated text.
func JoinNames[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}

// SplitNames is the inverse of JoinNames.
func SplitNames[T ~string](s string) []T {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]T, len(parts))
	for i, p := range parts {
		out[i] = T(p)
	}
	return out
}

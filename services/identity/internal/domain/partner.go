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

// The programs of ID-1.
const (
	ProgramCSPDirect           Program = "CSP_DIRECT"
	ProgramCSPIndirectReseller Program = "CSP_INDIRECT_RESELLER"
	ProgramOpen                Program = "OPEN"
	ProgramDelegatedAdmin      Program = "DELEGATED_ADMIN"
)

// Enrolment is a partner's enrolment in one program since a time (ID-1).
type Enrolment struct {
	Program Program
	Time    time.Time
}

// Partner is a CSP partner organisation (ID-1).
type Partner struct {
	ID          string
	LegalName   string
	CountryCode string
	Enrolments  []Enrolment // one per program, ordered by program
	Etag        string
	CreateTime  time.Time
	UpdateTime  time.Time
}

// Enrolled reports whether the partner holds any of the programs.
func (p Partner) Enrolled(programs ...Program) bool {
	for _, e := range p.Enrolments {
		if slices.Contains(programs, e.Program) {
			return true
		}
	}
	return false
}

// User is a user of a partner or customer organisation, with roles.
type User struct {
	ID          string
	OrgID       string
	OrgKind     auth.OrgKind
	UserName    string
	DisplayName string
	Email       string
	Roles       []auth.Role
	Disabled    bool
	DisableTime time.Time // zero while active
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

// ProgramOrder is the program's position in the contract enum (ordering of enrolments).
func ProgramOrder(p Program) int {
	return slices.Index([]Program{ProgramCSPDirect, ProgramCSPIndirectReseller, ProgramOpen, ProgramDelegatedAdmin}, p)
}

package domain

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

func fields(v errs.Violations) []string {
	var out []string
	for _, f := range v {
		out = append(out, f.Field)
	}
	return out
}

func TestCheckUserName(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"ada@fabrikam.example", true},
		{"o'brien+ops@sub.fabrikam.example", true},
		{"a.b-c_d@x.io", true},
		{"", false},
		{"no-at.example", false},
		{"two@@x.example", false},
		{"@x.example", false},
		{"a@localhost", false},
		{".a@x.example", false},
		{"a..b@x.example", false},
		{"a@-x.example", false},
		{"a b@x.example", false},
		{"ädа@x.example", false},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 44) + ".com", true}, // 113
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 45) + ".com", false},
	} {
		var v errs.Violations
		CheckUserName("user_name", NormalizeUserName(tc.in), &v)
		if (len(v) == 0) != tc.ok {
			t.Errorf("CheckUserName(%q) = %v, want ok=%v", tc.in, v, tc.ok)
		}
	}
	if got := NormalizeUserName("  Ada@Fabrikam.EXAMPLE "); got != "ada@fabrikam.example" {
		t.Errorf("normalized %q", got)
	}
}

// Role sets per organisation kind ("Actors and roles"); SERVICE is never a user's.
func TestRoles(t *testing.T) {
	var v errs.Violations
	CheckRoles("roles", []auth.Role{auth.GlobalAdmin, auth.AdminAgent, auth.Service, "BOSS", auth.AdminAgent}, &v)
	if want := []string{"roles[2]", "roles[3]", "roles[4]"}; !slices.Equal(fields(v), want) {
		t.Errorf("violations %v, want %v", fields(v), want)
	}
	v = nil
	if got := CheckRoles("roles", []auth.Role{auth.CustomerUser, auth.GlobalAdmin, auth.AdminAgent}, &v); len(v) != 0 ||
		!slices.Equal(got, []auth.Role{auth.AdminAgent, auth.GlobalAdmin, auth.CustomerUser}) {
		t.Errorf("not ordered by contract value: %v, %v", got, v)
	}
	v = nil
	CheckRoles("roles", nil, &v)
	if !slices.Equal(fields(v), []string{"roles"}) {
		t.Errorf("empty roles: %v", v)
	}
	v = nil
	CheckRolesFor(auth.OrgCustomer, "roles", []auth.Role{auth.CustomerUser, auth.SalesAgent}, &v)
	CheckRolesFor(auth.OrgPartner, "roles", []auth.Role{auth.GlobalAdmin, auth.CustomerGlobalAdmin}, &v)
	if len(v) != 2 {
		t.Errorf("cross-kind roles: %v", v)
	}
	if TopAdminRole(auth.OrgPartner) != auth.GlobalAdmin || TopAdminRole(auth.OrgCustomer) != auth.CustomerGlobalAdmin {
		t.Error("top admin roles")
	}
	for _, kind := range []auth.OrgKind{auth.OrgPartner, auth.OrgCustomer} {
		if slices.Contains(RolesFor(kind), auth.Service) {
			t.Errorf("SERVICE assignable in %s", kind)
		}
	}
}

func TestCheckEmailAndText(t *testing.T) {
	for in, ok := range map[string]bool{
		"ada@fabrikam.example": true, "Ada.Lovelace@Fabrikam.example": true,
		"": false, "ada": false, "Ada <ada@fabrikam.example>": false, "ada@": false,
	} {
		var v errs.Violations
		CheckEmail("email", in, &v)
		if (len(v) == 0) != ok {
			t.Errorf("CheckEmail(%q) = %v, want ok=%v", in, v, ok)
		}
	}
	var v errs.Violations
	CheckText("a", "", true, 3, &v)
	CheckText("b", "äöü", false, 3, &v)
	if len(v) != 0 {
		t.Errorf("valid texts refused: %v", v)
	}
	CheckText("c", "", false, 3, &v)
	CheckText("d", "abcd", false, 3, &v)
	CheckText("e", "\xff", true, 3, &v)
	if !slices.Equal(fields(v), []string{"c", "d", "e"}) {
		t.Errorf("invalid texts: %v", v)
	}
}

// ID-1, DA-2: program sets, delegated-admin eligibility, enrolment times kept.
func TestPrograms_ID1_DA2(t *testing.T) {
	var v errs.Violations
	CheckPrograms("programs", []Program{ProgramDelegatedAdmin, "UNSPECIFIED", ProgramCSPDirect, ProgramCSPDirect}, &v)
	if !slices.Equal(fields(v), []string{"programs[1]", "programs[3]"}) {
		t.Errorf("violations %v", v)
	}
	v = nil
	if got := CheckPrograms("programs", []Program{ProgramDelegatedAdmin, ProgramOpen, ProgramCSPDirect}, &v); len(v) != 0 ||
		!slices.Equal(got, []Program{ProgramCSPDirect, ProgramOpen, ProgramDelegatedAdmin}) {
		t.Errorf("not ordered by program: %v, %v", got, v)
	}
	for _, tc := range []struct {
		programs []Program
		ok       bool
	}{
		{nil, true},
		{[]Program{ProgramOpen}, true},
		{[]Program{ProgramCSPDirect, ProgramDelegatedAdmin}, true},
		{[]Program{ProgramCSPIndirectReseller, ProgramDelegatedAdmin}, true},
		{[]Program{ProgramDelegatedAdmin}, false},
		{[]Program{ProgramOpen, ProgramDelegatedAdmin}, false},
	} {
		err := CheckDelegatedAdminEligible(tc.programs)
		if (err == nil) != tc.ok || (err != nil && errs.ReasonOf(err) != ReasonProgramNotEnrolled) {
			t.Errorf("%v: %v, want ok=%v", tc.programs, err, tc.ok)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	e := Enrol([]Enrolment{{ProgramOpen, t0}, {ProgramCSPDirect, t0}}, []Program{ProgramDelegatedAdmin, ProgramCSPDirect}, t1)
	want := []Enrolment{{ProgramCSPDirect, t0}, {ProgramDelegatedAdmin, t1}}
	if !slices.Equal(e, want) {
		t.Errorf("Enrol = %v, want %v", e, want)
	}
}

package domain

import (
	"slices"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// ReasonProgramNotEnrolled refuses DELEGATED_ADMIN without a cloud program (ID-1, DA-2).
const ReasonProgramNotEnrolled errs.Reason = "PROGRAM_NOT_ENROLLED"

// MaxLegalNameLen bounds a partner's legal name (partnerhub.identity.v1.Partner.legal_name).
const MaxLegalNameLen = 200

// ValidProgram reports whether p names a program of ID-1.
func ValidProgram(p Program) bool { return ProgramOrder(p) >= 0 }

// CheckPrograms validates a requested program set: each a real program, no duplicates (ID-1).
// It returns the set ordered by program.
func CheckPrograms(field string, programs []Program, v *errs.Violations) []Program {
	seen := map[Program]bool{}
	for i, p := range programs {
		switch {
		case !ValidProgram(p):
			v.Add(indexed(field, i), "not a program (UNSPECIFIED is never valid)")
		case seen[p]:
			v.Add(indexed(field, i), "duplicate program %s", p)
		}
		seen[p] = true
	}
	out := slices.Clone(programs)
	slices.SortFunc(out, func(a, b Program) int { return ProgramOrder(a) - ProgramOrder(b) })
	return out
}

// CheckDelegatedAdminEligible enforces ID-1/DA-2: only a partner enrolled in a cloud program
// (CSP direct or CSP indirect reseller) may hold delegated-admin eligibility.
func CheckDelegatedAdminEligible(programs []Program) error {
	if !slices.Contains(programs, ProgramDelegatedAdmin) ||
		slices.Contains(programs, ProgramCSPDirect) || slices.Contains(programs, ProgramCSPIndirectReseller) {
		return nil
	}
	return errs.New(errs.FailedPrecondition, ReasonProgramNotEnrolled,
		"DELEGATED_ADMIN needs a cloud program (CSP_DIRECT or CSP_INDIRECT_RESELLER)").
		With("program", ProgramDelegatedAdmin).With("requires", "CSP_DIRECT,CSP_INDIRECT_RESELLER")
}

// Enrol returns the enrolments for a new program set, ordered by program: a program already
// held keeps its enrolment time, a new one is enrolled at now (ID-1).
func Enrol(current []Enrolment, programs []Program, now time.Time) []Enrolment {
	out := make([]Enrolment, 0, len(programs))
	for _, p := range programs {
		e := Enrolment{Program: p, Time: now}
		if i := slices.IndexFunc(current, func(c Enrolment) bool { return c.Program == p }); i >= 0 {
			e.Time = current[i].Time
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Enrolment) int { return ProgramOrder(a.Program) - ProgramOrder(b.Program) })
	return out
}

// Programs returns the programs of the partner's enrolments, in enrolment order.
func (p Partner) Programs() []Program {
	out := make([]Program, len(p.Enrolments))
	for i, e := range p.Enrolments {
		out[i] = e.Program
	}
	return out
}

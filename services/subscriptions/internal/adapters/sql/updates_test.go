package sql

import (
	"strings"
	"testing"
)

// subColumns must list subCols in order, then next_due: subValues binds by position.
func TestSubColumns_MatchSubCols(t *testing.T) {
	var names []string
	for _, c := range subColumns {
		names = append(names, c.name)
	}
	want := strings.Join(strings.Fields(strings.ReplaceAll(subCols, ",", " ")), ", ") + ", next_due"
	if got := strings.Join(names, ", "); got != want {
		t.Errorf("subColumns = %s\nwant        %s", got, want)
	}
}

func TestUpdateSQL(t *testing.T) {
	mask := uint64(1)<<7 | 1<<26 | 1<<31 // state, version, next_due
	if got, want := updateSQL(mask), "UPDATE subscriptions SET state = $3, version = $4, next_due = $5 WHERE id = $1 AND version = $2"; got != want {
		t.Errorf("updateSQL = %s\nwant        %s", got, want)
	}
	got := batchUpdateSQL(mask)
	for _, part := range []string{"SET state = v.state, version = v.version, next_due = v.next_due",
		"unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::timestamp[])",
		"AS v(id, prev_version, state, version, next_due)", "s.id = ANY($1::text[])", "RETURNING s.id"} {
		if !strings.Contains(got, part) {
			t.Errorf("batchUpdateSQL = %s\nlacks %s", got, part)
		}
	}
}

// The licensed users (ID-2) are a column an update sets like any other: an update that changes
// only them writes them with the version.
func TestUpdateSQL_LicensedUsers(t *testing.T) {
	idx := -1
	for i, c := range subColumns {
		if c.name == "licensed_users" {
			idx = i
		}
	}
	if idx < 0 || subColumns[idx].pgType != "text" {
		t.Fatalf("subColumns lacks licensed_users (text): %v", subColumns)
	}
	mask := uint64(1)<<26 | 1<<idx
	if got, want := updateSQL(mask), "UPDATE subscriptions SET version = $3, licensed_users = $4 WHERE id = $1 AND version = $2"; got != want {
		t.Errorf("updateSQL = %s\nwant        %s", got, want)
	}
	if got := batchUpdateSQL(mask); !strings.Contains(got, "unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[])") {
		t.Errorf("batchUpdateSQL = %s", got)
	}
}

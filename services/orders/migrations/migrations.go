// Package migrations holds orders's schema as goose SQL files, embedded and applied at start.
package migrations

import "embed"

// FS holds the NNN_name.sql files.
//
//go:embed *.sql
var FS embed.FS

// Package billing holds the orders service's ledger use cases (BI-1..BI-3): the consumer of the
// subscriptions events feed that records renewal charges, cancellation credits (SU-10) and
// penalties (SU-15) exactly once (Feed, OR-7), and the reads of LedgerService, ListLedgerEntries
// and GetInvoicePreview, scoped to the caller's partner (Ledger, ID-8). The arithmetic is the
// pure core's (internal/ledger); this package adds I/O: the store, the feed, the clock.
package billing

// Package seed holds partnerhub's seed catalog: catalog.yaml, embedded as File, which
// ImportCatalog accepts (format CATALOG_FORMAT_YAML) and the devstack imports on first start.
// The file format (format_version 1: proto field names, enum values without their prefix, times
// in RFC 3339, money as {amount_minor, currency_code}) is documented in services/catalog/FORMAT.md.
//
// What the catalog contains:
//   - every product kind of CA-1: Microsoft 365 Business Basic / Standard / Premium and Office 365
//     E1 / E3 / E5 (monthly and annual terms); Windows Server 2022 Standard / Datacenter and SQL
//     Server 2022 Standard / Enterprise as 1- and 3-year software subscriptions (3 years billed
//     annually or triennially, CA-5; Windows Server with Azure Hybrid Benefit up to 40 %, CA-6) and
//     as perpetual software; Windows Server 2022 RDS CALs with monthly billing (CA-5); Windows Server
//     2012 R2 Extended Security Updates with installation instructions instead of a download (CA-7);
//     Azure Reservations (1 and 3 years); Red Hat Enterprise Linux and SUSE software plans, never
//     cancellable (CA-10); Windows Server and SQL Server server subscriptions;
//   - one discontinued offer, Office 365 Business Premium, whose equivalent is Microsoft 365
//     Business Standard (CA-9);
//   - markets (CA-2): every SKU is sold in every served market, except the Azure Reservations,
//     which exclude every market listed in seed 004 (the German names and their ISO 3166-1 codes
//     are the table in seed_test.go);
//   - prices for US (USD), DE and AT (EUR), GB (GBP), AU (AUD), BR (BRL) and JP (JPY, whole yen)
//     for every term and billing plan a SKU allows; AU and BR amounts include taxes (CA-4), the
//     others do not. The file's header comment gives the reference rates the amounts follow.
//
// Product IDs have the Partner Center shape (12 upper-case letters or digits; SKU IDs add a colon
// and four digits) but are this catalog's own. seed_test.go checks the file against the domain
// rules above; the importer checks it against the format.
package seed

import _ "embed"

// File is catalog.yaml, the seed catalog in the documented YAML format.
//
//go:embed catalog.yaml
var File []byte

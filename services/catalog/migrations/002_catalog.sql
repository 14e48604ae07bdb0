-- +goose Up
-- The catalog: products, SKUs with their markets, prices (CA-1..CA-11). Portable dialect: see
-- pkg/store. Enum columns hold the contract's value names without prefix; lists that are read
-- whole with their row (term options, download variants) are JSON text; lists that queries filter
-- on are rows (sku_markets) or bit masks (program_mask).
CREATE TABLE products (
    product_id      TEXT PRIMARY KEY,
    display_name    TEXT NOT NULL,
    description     TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('ONLINE_SERVICE', 'SOFTWARE_SUBSCRIPTION',
                        'PERPETUAL_SOFTWARE', 'AZURE_RESERVATION', 'SOFTWARE_PLAN', 'SERVER_SUBSCRIPTION')),
    publisher       TEXT NOT NULL,
    -- Program names, comma-separated in contract order (CA-3).
    sales_programs  TEXT NOT NULL,
    -- The same programs as bits (1 << position in the contract enum, CSP_DIRECT = bit 0), so
    -- "sold through one of the partner's programs" is one AND on both engines.
    program_mask    BIGINT NOT NULL CHECK (program_mask > 0),
    etag            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX products_kind ON products (kind, product_id);

CREATE TABLE skus (
    sku_id                        TEXT PRIMARY KEY,
    product_id                    TEXT NOT NULL REFERENCES products (product_id),
    display_name                  TEXT NOT NULL,
    description                   TEXT NOT NULL,
    -- [{"term":"P1Y","plans":["MONTHLY","ANNUAL"]}] (CA-5)
    term_options                  TEXT NOT NULL,
    cancellation_kind             TEXT NOT NULL CHECK (cancellation_kind IN ('PRORATED_REFUND_WINDOW', 'FULL_CREDIT_WINDOW', 'NEVER')),
    cancellation_window_days      BIGINT NOT NULL CHECK (cancellation_window_days >= 0),
    autorenew_enabled             BOOLEAN NOT NULL,
    autorenew_effective_from      TIMESTAMP,
    autorenew_renewable           BOOLEAN NOT NULL,
    -- Never KMS (CA-8): the schema refuses it too.
    key_type                      TEXT NOT NULL CHECK (key_type IN ('NONE', 'MAK')),
    -- [{"id":"...","version":"...","language":"...","file_type":"...","os":"...","size":0}] (KD-4)
    download_variants             TEXT NOT NULL,
    installation_instructions_url TEXT NOT NULL,
    maximum_quantity              BIGINT NOT NULL CHECK (maximum_quantity >= 1),
    availability_mode             TEXT NOT NULL CHECK (availability_mode IN ('ALL_EXCEPT_LISTED', 'ONLY_LISTED')),
    -- The listed countries, comma-separated and sorted, to read a SKU in one row; sku_markets
    -- holds the same list for the market filters.
    availability_countries        TEXT NOT NULL,
    ahb_max_saving_percent        BIGINT NOT NULL CHECK (ahb_max_saving_percent BETWEEN 0 AND 100),
    discontinued                  BOOLEAN NOT NULL,
    discontinued_at               TIMESTAMP,
    equivalent_sku_id             TEXT NOT NULL,
    etag                          TEXT NOT NULL,
    created_at                    TIMESTAMP NOT NULL,
    updated_at                    TIMESTAMP NOT NULL,
    -- CA-9: an equivalent exactly when discontinued.
    CHECK ((discontinued AND equivalent_sku_id <> '') OR (NOT discontinued AND equivalent_sku_id = ''))
);
CREATE INDEX skus_product ON skus (product_id, sku_id);

-- The countries a SKU's availability lists (CA-2): excluded for ALL_EXCEPT_LISTED, included for
-- ONLY_LISTED.
CREATE TABLE sku_markets (
    sku_id        TEXT NOT NULL REFERENCES skus (sku_id),
    country_code  TEXT NOT NULL,
    PRIMARY KEY (sku_id, country_code)
);

CREATE TABLE prices (
    sku_id        TEXT NOT NULL REFERENCES skus (sku_id),
    country_code  TEXT NOT NULL,
    term          TEXT NOT NULL CHECK (term IN ('P1M', 'P1Y', 'P3Y', 'PERPETUAL')),
    billing_plan  TEXT NOT NULL CHECK (billing_plan IN ('MONTHLY', 'ANNUAL', 'TRIENNIAL', 'ONE_TIME')),
    amount_minor  BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency_code TEXT NOT NULL,
    etag          TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (sku_id, country_code, term, billing_plan)
);
-- Offers of a market: every price of a page of SKUs in one country.
CREATE INDEX prices_country ON prices (country_code, sku_id);

-- +goose Down
DROP TABLE prices;
DROP TABLE sku_markets;
DROP TABLE skus;
DROP TABLE products;

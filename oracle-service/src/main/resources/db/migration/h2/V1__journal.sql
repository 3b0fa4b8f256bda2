-- The request journal: one row per request (on-chain or API), written before any work starts.
CREATE TABLE inference_request (
    id                 VARCHAR(80)  PRIMARY KEY,      -- 0x + 64 hex (chain requestId) or cmpl-<uuid> (API)
    origin             VARCHAR(8)   NOT NULL,         -- CHAIN | API
    state              VARCHAR(16)  NOT NULL,
    version            INTEGER      NOT NULL DEFAULT 0, -- optimistic concurrency for state transitions
    reason             VARCHAR(16777216),
    failure_code       INTEGER,
    consumer           VARCHAR(42),
    model_id           VARCHAR(66)  NOT NULL,
    adapters           VARCHAR(16777216)         NOT NULL,         -- cidhex:weight;cidhex:weight (weights fixed-point 1e4)
    adapter_set_key    VARCHAR(128) NOT NULL,         -- groups requests that can share one attachment
    prompt_hex         VARCHAR(16777216)         NOT NULL,
    max_tokens         BIGINT       NOT NULL,
    temperature        BIGINT       NOT NULL,         -- fixed-point 1e4
    top_p              BIGINT       NOT NULL,         -- fixed-point 1e4
    seed               VARCHAR(24)  NOT NULL,         -- uint64 as decimal
    callback_gas_limit BIGINT       NOT NULL,
    deadline           BIGINT       NOT NULL,         -- unix seconds, 0 = none
    fee                VARCHAR(40)  NOT NULL,
    assigned_oracle    VARCHAR(42),
    exclusive_until    BIGINT       NOT NULL DEFAULT 0,
    block_number       BIGINT,
    block_hash         VARCHAR(66),
    log_index          BIGINT,
    request_tx_hash    VARCHAR(66),
    output             VARCHAR(16777216),
    output_tokens      INTEGER      NOT NULL DEFAULT 0,
    result_commitment  VARCHAR(66),
    tx_hash            VARCHAR(66),                   -- latest fulfil / reportFailure tx
    tx_kind            VARCHAR(16),                   -- FULFIL | FAILURE
    gas_used           BIGINT,
    generation_nanos   BIGINT,
    attempts           INTEGER      NOT NULL DEFAULT 0,
    seen_at            BIGINT       NOT NULL,         -- epoch millis for every timing column
    fetch_started_at   BIGINT,
    run_started_at     BIGINT,
    submitted_at       BIGINT,
    confirmed_at       BIGINT,
    unloaded_at        BIGINT,
    finished_at        BIGINT,
    updated_at         BIGINT       NOT NULL
);
CREATE INDEX inference_request_state ON inference_request (state);
CREATE INDEX inference_request_block ON inference_request (block_number);

-- Transactions the oracle signed, one row per nonce use; every re-broadcast hash is appended to hashes.
CREATE TABLE oracle_tx (
    id              BIGINT       AUTO_INCREMENT PRIMARY KEY,
    request_id      VARCHAR(80)  NOT NULL,
    kind            VARCHAR(16)  NOT NULL,
    nonce           BIGINT       NOT NULL,
    tx_hash         VARCHAR(66)  NOT NULL,            -- latest broadcast
    hashes          VARCHAR(16777216)         NOT NULL,            -- all broadcasts, comma-separated
    raw_tx          VARCHAR(16777216)         NOT NULL,            -- latest signed tx, for re-broadcast after a restart or a reorg
    max_fee         VARCHAR(40)  NOT NULL,
    priority_fee    VARCHAR(40)  NOT NULL,
    gas_limit       BIGINT       NOT NULL,
    status          VARCHAR(16)  NOT NULL,            -- PENDING | MINED | CONFIRMED | REVERTED | SUPERSEDED
    block_number    BIGINT,
    block_hash      VARCHAR(66),
    gas_used        BIGINT,
    fee_paid_wei    VARCHAR(40),
    broadcasts      INTEGER      NOT NULL DEFAULT 1,
    created_at      BIGINT       NOT NULL,
    last_sent_at    BIGINT       NOT NULL
);
CREATE INDEX oracle_tx_status ON oracle_tx (status);
CREATE INDEX oracle_tx_request ON oracle_tx (request_id);

-- Ingestion cursor: last block whose logs are fully in the journal.
CREATE TABLE ingestion_cursor (
    name          VARCHAR(32) PRIMARY KEY,
    block_number  BIGINT      NOT NULL,
    block_hash    VARCHAR(66) NOT NULL,
    updated_at    BIGINT      NOT NULL
);

-- Hashes of blocks we ingested logs from (and the cursor block), re-checked for reorgs.
CREATE TABLE ingested_block (
    block_number  BIGINT      PRIMARY KEY,
    block_hash    VARCHAR(66) NOT NULL,
    ingested_at   BIGINT      NOT NULL
);

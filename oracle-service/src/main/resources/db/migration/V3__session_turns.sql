-- Session turns as the chain tells them (SessionTurnRequested, SessionAdvanced, InferenceFailed / InferenceCancelled
-- of a turn), plus what this node computed when it served one. One migration for H2 and PostgreSQL.
CREATE TABLE session_turn (
    session_id          VARCHAR(66)  NOT NULL,        -- 0x + 64 hex
    turn_index          INTEGER      NOT NULL,
    request_id          VARCHAR(80)  NOT NULL,        -- journal id of the turn's request
    status              VARCHAR(16)  NOT NULL,        -- REQUESTED | FULFILLED | ENDED (failed or cancelled: not in the history)
    head                VARCHAR(66),                  -- SessionAdvanced.head
    snapshot_cid        VARCHAR,                      -- SessionAdvanced.snapshotCid, hex (empty: none)
    end_tx_hash         VARCHAR(66),                  -- the fulfillTurn transaction (its calldata carries the output)
    output_hex          VARCHAR,                      -- the fulfilled output, once read from that calldata or served here
    local_head          VARCHAR(66),                  -- the head this node computed when it served the turn
    local_snapshot_cid  VARCHAR,                      -- the snapshot CID this node published for it, hex
    requested_block     BIGINT,                       -- block of SessionTurnRequested (null: learnt from turns())
    ended_block         BIGINT,                       -- block of the turn's ending event (reorg rewinds)
    updated_at          BIGINT       NOT NULL,
    PRIMARY KEY (session_id, turn_index)
);
CREATE UNIQUE INDEX session_turn_request ON session_turn (request_id);

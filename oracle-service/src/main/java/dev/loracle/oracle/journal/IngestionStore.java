package dev.loracle.oracle.journal;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Transactional;

import java.time.Clock;
import java.util.List;
import java.util.Optional;

/** The ingestion cursor (last block fully journaled) and the hashes of ingested blocks, for reorg detection. */
@Repository
public class IngestionStore {
    public static final String COORDINATOR_CURSOR = "coordinator";

    public record BlockRef(long number, String hash) {
    }

    private final JdbcClient jdbc;
    private final Clock clock;

    public IngestionStore(JdbcClient jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    public Optional<BlockRef> cursor(String name) {
        return jdbc.sql("SELECT block_number, block_hash FROM ingestion_cursor WHERE name = :n").param("n", name)
                .query((rs, i) -> new BlockRef(rs.getLong(1), rs.getString(2))).optional();
    }

    /** Moves the cursor and remembers the cursor block's hash (it is re-checked like any ingested block). */
    @Transactional
    public void advance(String name, BlockRef block) {
        long now = clock.millis();
        int n = jdbc.sql("UPDATE ingestion_cursor SET block_number = :b, block_hash = :h, updated_at = :now WHERE name = :n")
                .param("b", block.number()).param("h", block.hash()).param("now", now).param("n", name).update();
        if (n == 0) {
            jdbc.sql("INSERT INTO ingestion_cursor (name, block_number, block_hash, updated_at) VALUES (:n, :b, :h, :now)")
                    .param("n", name).param("b", block.number()).param("h", block.hash()).param("now", now).update();
        }
        rememberBlock(block);
    }

    public void rememberBlock(BlockRef block) {
        long now = clock.millis();
        int n = jdbc.sql("UPDATE ingested_block SET block_hash = :h, ingested_at = :now WHERE block_number = :b")
                .param("h", block.hash()).param("now", now).param("b", block.number()).update();
        if (n == 0) {
            jdbc.sql("INSERT INTO ingested_block (block_number, block_hash, ingested_at) VALUES (:b, :h, :now)")
                    .param("b", block.number()).param("h", block.hash()).param("now", now).update();
        }
    }

    /** Ingested blocks at or above {@code from}, lowest first. */
    public List<BlockRef> blocksFrom(long from) {
        return jdbc.sql("SELECT block_number, block_hash FROM ingested_block WHERE block_number >= :b ORDER BY block_number")
                .param("b", from).query((rs, i) -> new BlockRef(rs.getLong(1), rs.getString(2))).list();
    }

    /** After a reorg at {@code from}: forget those hashes and move the cursor below the fork so the range is read again. */
    @Transactional
    public void rewind(String name, long from, BlockRef below) {
        jdbc.sql("DELETE FROM ingested_block WHERE block_number >= :b").param("b", from).update();
        advance(name, below);
    }

    /** Keeps the table small: hashes older than the reorg window are never re-checked. */
    public void pruneBelow(long blockNumber) {
        jdbc.sql("DELETE FROM ingested_block WHERE block_number < :b").param("b", blockNumber).update();
    }
}

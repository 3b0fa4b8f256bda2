package dev.loracle.oracle.journal;

import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.support.GeneratedKeyHolder;
import org.springframework.stereotype.Repository;

import java.math.BigInteger;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** Signed transactions of the oracle (table oracle_tx): written before broadcast so a restart can track or re-send them. */
@Repository
public class TxJournal {
    private final JdbcClient jdbc;
    private final Clock clock;

    public TxJournal(JdbcClient jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    public TxRecord insert(String requestId, TxRecord.TxKind kind, long nonce, String txHash, String rawTx, BigInteger maxFee,
                           BigInteger priorityFee, long gasLimit) {
        long now = clock.millis();
        var keys = new GeneratedKeyHolder();
        jdbc.sql("""
                        INSERT INTO oracle_tx (request_id, kind, nonce, tx_hash, hashes, raw_tx, max_fee, priority_fee, gas_limit,
                            status, broadcasts, created_at, last_sent_at)
                        VALUES (:r, :k, :n, :h, :h, :raw, :mf, :pf, :gl, 'PENDING', 1, :now, :now)""")
                .param("r", requestId).param("k", kind.name()).param("n", nonce).param("h", txHash).param("raw", rawTx)
                .param("mf", maxFee.toString()).param("pf", priorityFee.toString()).param("gl", gasLimit).param("now", now)
                .update(keys, "id");
        return get(keys.getKey().longValue());
    }

    public TxRecord get(long id) {
        return jdbc.sql("SELECT * FROM oracle_tx WHERE id = :id").param("id", id).query(ROW).single();
    }

    public List<TxRecord> open() {
        return jdbc.sql("SELECT * FROM oracle_tx WHERE status IN ('PENDING', 'MINED') ORDER BY nonce, id").query(ROW).list();
    }

    public List<TxRecord> forRequest(String requestId) {
        return jdbc.sql("SELECT * FROM oracle_tx WHERE request_id = :r ORDER BY id").param("r", requestId).query(ROW).list();
    }

    public Optional<TxRecord> latestForRequest(String requestId, TxRecord.TxKind kind) {
        return jdbc.sql("SELECT * FROM oracle_tx WHERE request_id = :r AND kind = :k ORDER BY id DESC LIMIT 1")
                .param("r", requestId).param("k", kind.name()).query(ROW).optional();
    }

    /** Highest nonce ever signed (restart: never reuse one that may still be in a mempool). */
    public Optional<Long> maxNonce() {
        return jdbc.sql("SELECT MAX(nonce) FROM oracle_tx").query((rs, i) -> {
            long v = rs.getLong(1);
            return rs.wasNull() ? null : v;
        }).optional();
    }

    /** A re-broadcast of the same nonce with new fees (or a re-signed tx after a nonce change). */
    public void rebroadcast(long id, long nonce, String newHash, String rawTx, BigInteger maxFee, BigInteger priorityFee) {
        TxRecord current = get(id);
        String hashes = String.join(",", current.hashes()) + "," + newHash;
        jdbc.sql("""
                        UPDATE oracle_tx SET nonce = :n, tx_hash = :h, hashes = :hs, raw_tx = :raw, max_fee = :mf, priority_fee = :pf,
                            broadcasts = broadcasts + 1, last_sent_at = :now, status = 'PENDING', block_number = NULL, block_hash = NULL
                        WHERE id = :id""")
                .param("n", nonce).param("h", newHash).param("hs", hashes).param("raw", rawTx).param("mf", maxFee.toString())
                .param("pf", priorityFee.toString()).param("now", clock.millis()).param("id", id).update();
    }

    public void markSent(long id) {
        jdbc.sql("UPDATE oracle_tx SET last_sent_at = :now WHERE id = :id").param("now", clock.millis()).param("id", id).update();
    }

    public void markMined(long id, String minedHash, long blockNumber, String blockHash, long gasUsed, BigInteger feePaid, boolean success) {
        jdbc.sql("""
                        UPDATE oracle_tx SET tx_hash = :h, block_number = :b, block_hash = :bh, gas_used = :g, fee_paid_wei = :f,
                            status = :s WHERE id = :id""")
                .param("h", minedHash).param("b", blockNumber).param("bh", blockHash).param("g", gasUsed)
                .param("f", feePaid.toString()).param("s", success ? "MINED" : "REVERTED").param("id", id).update();
    }

    public void setStatus(long id, TxRecord.TxStatus status) {
        jdbc.sql("UPDATE oracle_tx SET status = :s WHERE id = :id").param("s", status.name()).param("id", id).update();
    }

    /** A mined tx's block was reorged away: back to PENDING (its hashes are looked up again). */
    public void unmine(long id) {
        jdbc.sql("UPDATE oracle_tx SET status = 'PENDING', block_number = NULL, block_hash = NULL WHERE id = :id")
                .param("id", id).update();
    }

    private static final RowMapper<TxRecord> ROW = (rs, i) -> {
        long bn = rs.getLong("block_number");
        Long blockNumber = rs.wasNull() ? null : bn;
        long gu = rs.getLong("gas_used");
        Long gasUsed = rs.wasNull() ? null : gu;
        String fee = rs.getString("fee_paid_wei");
        return new TxRecord(rs.getLong("id"), rs.getString("request_id"), TxRecord.TxKind.valueOf(rs.getString("kind")),
                rs.getLong("nonce"), rs.getString("tx_hash"), Arrays.asList(rs.getString("hashes").split(",")),
                rs.getString("raw_tx"), new BigInteger(rs.getString("max_fee")), new BigInteger(rs.getString("priority_fee")),
                rs.getLong("gas_limit"), TxRecord.TxStatus.valueOf(rs.getString("status")), blockNumber, rs.getString("block_hash"),
                gasUsed, fee == null ? null : new BigInteger(fee), rs.getInt("broadcasts"), rs.getLong("created_at"),
                rs.getLong("last_sent_at"));
    };
}

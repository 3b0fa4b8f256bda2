package dev.loracle.oracle.journal;

import dev.loracle.oracle.session.SessionTurnRecord;
import dev.loracle.oracle.session.SessionTurnStatus;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Transactional;

import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * The session turns the chain announced (table session_turn). A turn's status moves once, REQUESTED -> FULFILLED or
 * REQUESTED -> ENDED, by compare-and-set on the status, so a log seen twice (WebSocket + backfill) changes nothing.
 */
@Repository
public class SessionJournal {
    private final JdbcClient jdbc;
    private final Clock clock;

    public SessionJournal(JdbcClient jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    /** The coordinator's turns() view: false when the turn is journaled already. */
    public boolean recordRequested(String sessionId, int index, String requestId) {
        return recordRequested(sessionId, index, requestId, null);
    }

    /** SessionTurnRequested in {@code block}: false when the turn is journaled already. */
    public boolean recordRequested(String sessionId, int index, String requestId, Long block) {
        try {
            jdbc.sql("""
                            INSERT INTO session_turn (session_id, turn_index, request_id, status, requested_block, updated_at)
                            VALUES (:s, :i, :r, 'REQUESTED', :b, :now)""")
                    .param("s", sessionId).param("i", index).param("r", requestId).param("b", block).param("now", clock.millis()).update();
            return true;
        } catch (DuplicateKeyException duplicate) {
            return false;
        }
    }

    /** SessionAdvanced in {@code block}: the turn is fulfilled with this head and snapshot CID; false when it was not REQUESTED. */
    public boolean recordFulfilled(String sessionId, int index, String requestId, String head, String snapshotCidHex, String txHash,
                                   long block) {
        recordRequested(sessionId, index, requestId, block);
        return jdbc.sql("""
                        UPDATE session_turn SET status = 'FULFILLED', head = :h, snapshot_cid = :c, end_tx_hash = :t, ended_block = :b,
                            updated_at = :now
                        WHERE session_id = :s AND turn_index = :i AND status = 'REQUESTED'""")
                .param("h", head).param("c", snapshotCidHex).param("t", txHash).param("b", block).param("now", clock.millis())
                .param("s", sessionId).param("i", index).update() == 1;
    }

    /** InferenceFailed / InferenceCancelled of a turn in {@code block}: it ended without an output. Empty when it is no (open) turn. */
    public Optional<SessionTurnRecord> recordEnded(String requestId, long block) {
        int n = jdbc.sql("UPDATE session_turn SET status = 'ENDED', ended_block = :b, updated_at = :now WHERE request_id = :r AND status = 'REQUESTED'")
                .param("b", block).param("now", clock.millis()).param("r", requestId).update();
        return n == 1 ? find(requestId) : Optional.empty();
    }

    /**
     * A reorg from {@code block}: endings seen in those blocks are forgotten (the turn is REQUESTED again, its output
     * unknown) and turns requested there are dropped; re-reading the logs from the fork journals what is still there.
     */
    @Transactional
    public void rewindFrom(long block) {
        long now = clock.millis();
        jdbc.sql("""
                        UPDATE session_turn SET status = 'REQUESTED', head = NULL, snapshot_cid = NULL, end_tx_hash = NULL, output_hex = NULL,
                            ended_block = NULL, updated_at = :now
                        WHERE ended_block >= :b""").param("now", now).param("b", block).update();
        jdbc.sql("DELETE FROM session_turn WHERE requested_block >= :b AND local_head IS NULL").param("b", block).update();
    }

    /** The output of a fulfilled turn, read from its fulfillTurn calldata (set once). */
    public void recordOutput(String sessionId, int index, String outputHex) {
        jdbc.sql("UPDATE session_turn SET output_hex = :o, updated_at = :now WHERE session_id = :s AND turn_index = :i AND output_hex IS NULL")
                .param("o", outputHex).param("now", clock.millis()).param("s", sessionId).param("i", index).update();
    }

    /** What this node computed when it served the turn: the head and snapshot CID it sends, and the output. */
    public void recordLocalResult(String requestId, String localHead, String localSnapshotCidHex) {
        jdbc.sql("UPDATE session_turn SET local_head = :h, local_snapshot_cid = :c, updated_at = :now WHERE request_id = :r")
                .param("h", localHead).param("c", localSnapshotCidHex).param("now", clock.millis()).param("r", requestId).update();
    }

    public Optional<SessionTurnRecord> find(String requestId) {
        return jdbc.sql("SELECT * FROM session_turn WHERE request_id = :r").param("r", requestId).query(ROW).optional();
    }

    /** The session's journaled turns, in turn order. */
    public List<SessionTurnRecord> turns(String sessionId) {
        return jdbc.sql("SELECT * FROM session_turn WHERE session_id = :s ORDER BY turn_index").param("s", sessionId).query(ROW).list();
    }

    private static final RowMapper<SessionTurnRecord> ROW = (rs, i) -> new SessionTurnRecord(rs.getString("session_id"),
            rs.getInt("turn_index"), rs.getString("request_id"), SessionTurnStatus.valueOf(rs.getString("status")),
            rs.getString("head"), rs.getString("snapshot_cid"), rs.getString("end_tx_hash"), rs.getString("output_hex"),
            rs.getString("local_head"), rs.getString("local_snapshot_cid"));
}

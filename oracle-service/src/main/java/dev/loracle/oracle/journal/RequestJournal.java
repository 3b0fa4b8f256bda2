package dev.loracle.oracle.journal;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import org.web3j.utils.Numeric;

import java.math.BigInteger;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The durable request journal (table inference_request). Every request is written here before any work starts; each
 * state change is a compare-and-set on the current state (optimistic: concurrent workers cannot both move a row), guarded
 * by {@link RequestState#canMoveTo}.
 */
@Repository
public class RequestJournal {
    private static final String COLUMNS = "*";

    private final JdbcClient jdbc;
    private final Clock clock;
    private final ObjectProvider<TransitionListener> listeners;

    public RequestJournal(JdbcClient jdbc, Clock clock, ObjectProvider<TransitionListener> listeners) {
        this.jdbc = jdbc;
        this.clock = clock;
        this.listeners = listeners;
    }

    /** Writes a new request in state RECEIVED. Returns false when the id is already journaled (duplicate event). */
    public boolean record(InferenceSpec spec, ChainOrigin origin) {
        long now = clock.millis();
        try {
            jdbc.sql("""
                    INSERT INTO inference_request (id, origin, state, version, consumer, model_id, adapters, adapter_set_key,
                        prompt_hex, prompt_format, max_tokens, temperature, top_p, seed, callback_gas_limit, deadline, fee, assigned_oracle,
                        exclusive_until, block_number, block_hash, log_index, request_tx_hash, seen_at, updated_at)
                    VALUES (:id, :origin, 'RECEIVED', 0, :consumer, :modelId, :adapters, :key, :prompt, :format, :maxTokens, :temperature,
                        :topP, :seed, :cbGas, :deadline, :fee, :assigned, :exclusiveUntil, :blockNumber, :blockHash, :logIndex,
                        :txHash, :now, :now)""")
                    .param("id", spec.id()).param("origin", spec.origin().name()).param("consumer", spec.consumer())
                    .param("modelId", spec.modelId()).param("adapters", spec.adaptersEncoded()).param("key", spec.adapterSetKey())
                    .param("prompt", Numeric.toHexStringNoPrefix(spec.prompt())).param("format", spec.promptFormat().name())
                    .param("maxTokens", spec.maxTokens())
                    .param("temperature", spec.temperature()).param("topP", spec.topP()).param("seed", spec.seed().toString())
                    .param("cbGas", spec.callbackGasLimit()).param("deadline", spec.deadline()).param("fee", spec.fee().toString())
                    .param("assigned", spec.assignedOracle()).param("exclusiveUntil", spec.exclusiveUntil())
                    .param("blockNumber", origin == null ? null : origin.blockNumber())
                    .param("blockHash", origin == null ? null : origin.blockHash())
                    .param("logIndex", origin == null ? null : origin.logIndex())
                    .param("txHash", origin == null ? null : origin.txHash())
                    .param("now", now)
                    .update();
            return true;
        } catch (DuplicateKeyException duplicate) {
            return false;
        }
    }

    /**
     * The same request id now stands for a different request (after a reorg the coordinator's nonce, and so the id, were
     * reused) or a reorged-out request came back: the row starts over as RECEIVED with the new content.
     */
    public JournalEntry reopen(InferenceSpec spec, ChainOrigin origin, String reason) {
        long now = clock.millis();
        JournalEntry before = get(spec.id());
        int n = jdbc.sql("""
                        UPDATE inference_request SET state = 'RECEIVED', version = version + 1, reason = :reason, failure_code = NULL,
                            consumer = :consumer, model_id = :modelId, adapters = :adapters, adapter_set_key = :key, prompt_hex = :prompt,
                            prompt_format = :format,
                            max_tokens = :maxTokens, temperature = :temperature, top_p = :topP, seed = :seed, callback_gas_limit = :cbGas,
                            deadline = :deadline, fee = :fee, assigned_oracle = :assigned, exclusive_until = :exclusiveUntil,
                            block_number = :blockNumber, block_hash = :blockHash, log_index = :logIndex, request_tx_hash = :txHash,
                            output = NULL, output_tokens = 0, result_commitment = NULL, tx_hash = NULL, tx_kind = NULL, gas_used = NULL,
                            generation_nanos = NULL, attempts = attempts + 1, seen_at = :now, fetch_started_at = NULL,
                            run_started_at = NULL, submitted_at = NULL, confirmed_at = NULL, unloaded_at = NULL, finished_at = NULL,
                            updated_at = :now
                        WHERE id = :id AND version = :version""")
                .param("reason", reason).param("consumer", spec.consumer()).param("modelId", spec.modelId())
                .param("adapters", spec.adaptersEncoded()).param("key", spec.adapterSetKey())
                .param("prompt", Numeric.toHexStringNoPrefix(spec.prompt())).param("format", spec.promptFormat().name())
                .param("maxTokens", spec.maxTokens())
                .param("temperature", spec.temperature()).param("topP", spec.topP()).param("seed", spec.seed().toString())
                .param("cbGas", spec.callbackGasLimit()).param("deadline", spec.deadline()).param("fee", spec.fee().toString())
                .param("assigned", spec.assignedOracle()).param("exclusiveUntil", spec.exclusiveUntil())
                .param("blockNumber", origin.blockNumber()).param("blockHash", origin.blockHash())
                .param("logIndex", origin.logIndex()).param("txHash", origin.txHash()).param("now", now)
                .param("id", spec.id()).param("version", before.version()).update();
        if (n != 1) throw new StaleStateException("request " + spec.id() + " changed while being reopened");
        JournalEntry after = get(spec.id());
        listeners.orderedStream().forEach(l -> l.onTransition(after, before.state()));
        return after;
    }

    public Optional<JournalEntry> find(String id) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM inference_request WHERE id = :id").param("id", id).query(ROW).optional();
    }

    public JournalEntry get(String id) {
        return find(id).orElseThrow(() -> new IllegalArgumentException("no journaled request " + id));
    }

    /** Requests in any of the given states, oldest first. */
    public List<JournalEntry> findByStates(int limit, RequestState... states) {
        if (states.length == 0) throw new IllegalArgumentException("at least one state");
        return jdbc.sql("SELECT " + COLUMNS + " FROM inference_request WHERE state IN (:states) ORDER BY seen_at, id LIMIT :limit")
                .param("states", Arrays.stream(states).map(Enum::name).toList()).param("limit", limit)
                .query(ROW).list();
    }

    /** Most recent requests (any state), newest first. */
    public List<JournalEntry> recent(int limit) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM inference_request ORDER BY seen_at DESC, id LIMIT :limit")
                .param("limit", limit).query(ROW).list();
    }

    /** On-chain requests first seen in a block at or above {@code blockNumber} (reorg re-checks). */
    public List<JournalEntry> findFromBlock(long blockNumber) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM inference_request WHERE block_number >= :b ORDER BY block_number, log_index")
                .param("b", blockNumber).query(ROW).list();
    }

    public Map<RequestState, Long> countByState() {
        Map<RequestState, Long> counts = new EnumMap<>(RequestState.class);
        for (RequestState s : RequestState.values()) counts.put(s, 0L);
        jdbc.sql("SELECT state, COUNT(*) AS n FROM inference_request GROUP BY state")
                .query((rs, i) -> Map.entry(RequestState.valueOf(rs.getString("state")), rs.getLong("n")))
                .list().forEach(e -> counts.put(e.getKey(), e.getValue()));
        return counts;
    }

    /**
     * Moves a request from {@code from} to {@code to}, or throws {@link StaleStateException} when the guard forbids it or
     * another worker moved the row first. {@code reason} (nullable) is recorded for endings and retries.
     */
    public JournalEntry transition(String id, RequestState from, RequestState to, String reason) {
        return transition(id, from, to, reason, null);
    }

    public JournalEntry fail(String id, RequestState from, RequestState ending, int failureCode, String reason) {
        if (ending != RequestState.FAILED) throw new IllegalArgumentException("failure codes go with FAILED");
        return transition(id, from, ending, reason, failureCode);
    }

    private JournalEntry transition(String id, RequestState from, RequestState to, String reason, Integer failureCode) {
        if (!from.canMoveTo(to)) {
            throw new StaleStateException("illegal transition " + from + " -> " + to + " for " + id);
        }
        long now = clock.millis();
        StringBuilder set = new StringBuilder("state = :to, version = version + 1, updated_at = :now");
        if (reason != null) set.append(", reason = :reason");
        if (failureCode != null) set.append(", failure_code = :code");
        String timing = switch (to) {
            case FETCHING -> "fetch_started_at";
            case RUNNING -> "run_started_at";
            case SUBMITTED -> "submitted_at";
            case CONFIRMED -> "confirmed_at";
            case UNLOADED, FAILED, CANCELLED, EXPIRED -> "finished_at";
            case RECEIVED -> null;
        };
        if (timing != null) set.append(", ").append(timing).append(" = :now");
        if (to == RequestState.UNLOADED) set.append(", unloaded_at = :now");
        if (to == RequestState.RECEIVED) {
            // a retry starts over: forget the previous attempt's outcome but keep the history counter
            set.append(", attempts = attempts + 1, failure_code = NULL, output = NULL, output_tokens = 0, result_commitment = NULL,"
                    + " tx_hash = NULL, tx_kind = NULL, finished_at = NULL, confirmed_at = NULL");
        }
        var statement = jdbc.sql("UPDATE inference_request SET " + set + " WHERE id = :id AND state = :from")
                .param("to", to.name()).param("now", now).param("id", id).param("from", from.name());
        if (reason != null) statement = statement.param("reason", truncate(reason, 2000));
        if (failureCode != null) statement = statement.param("code", failureCode);
        int updated = statement.update();
        if (updated != 1) {
            String actual = find(id).map(e -> e.state().name()).orElse("absent");
            throw new StaleStateException("request " + id + " is " + actual + ", expected " + from + " (wanted " + to + ")");
        }
        JournalEntry after = get(id);
        listeners.orderedStream().forEach(l -> l.onTransition(after, from));
        return after;
    }

    /** Partial output while RUNNING (streamed tokens), so an observer (REST, SSE) sees progress. */
    public void recordPartialOutput(String id, String output, int tokens) {
        jdbc.sql("UPDATE inference_request SET output = :o, output_tokens = :n, updated_at = :now WHERE id = :id AND state = 'RUNNING'")
                .param("o", output).param("n", tokens).param("now", clock.millis()).param("id", id).update();
    }

    /** The finished generation and its result commitment; only while RUNNING. */
    public void recordResult(String id, String output, int tokens, String resultCommitment, long generationNanos) {
        int n = jdbc.sql("""
                        UPDATE inference_request SET output = :o, output_tokens = :n, result_commitment = :c, generation_nanos = :g,
                            updated_at = :now WHERE id = :id AND state = 'RUNNING'""")
                .param("o", output).param("n", tokens).param("c", resultCommitment).param("g", generationNanos)
                .param("now", clock.millis()).param("id", id).update();
        if (n != 1) throw new StaleStateException("request " + id + " is no longer RUNNING; result not recorded");
    }

    /** The latest tx sent for this request (fulfil or reportFailure). */
    public void recordTx(String id, String txHash, String kind) {
        jdbc.sql("UPDATE inference_request SET tx_hash = :h, tx_kind = :k, updated_at = :now WHERE id = :id")
                .param("h", txHash).param("k", kind).param("now", clock.millis()).param("id", id).update();
    }

    public void recordGasUsed(String id, long gasUsed) {
        jdbc.sql("UPDATE inference_request SET gas_used = :g WHERE id = :id").param("g", gasUsed).param("id", id).update();
    }

    /** A failure report reached its confirmations (FAILED rows keep their state; confirmed_at marks the refund done). */
    public void markFailureReported(String id) {
        jdbc.sql("UPDATE inference_request SET confirmed_at = :now, updated_at = :now WHERE id = :id AND state = 'FAILED'")
                .param("now", clock.millis()).param("id", id).update();
    }

    /** After a reorg the request's event was found again in another block. */
    public void updateChainOrigin(String id, ChainOrigin origin) {
        jdbc.sql("UPDATE inference_request SET block_number = :b, block_hash = :h, log_index = :l, request_tx_hash = :t, updated_at = :now WHERE id = :id")
                .param("b", origin.blockNumber()).param("h", origin.blockHash()).param("l", origin.logIndex())
                .param("t", origin.txHash()).param("now", clock.millis()).param("id", id).update();
    }

    /** FAILED on-chain requests whose reportFailure has not been confirmed yet (restart recovery). */
    public List<JournalEntry> unreportedFailures(int limit) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM inference_request WHERE state = 'FAILED' AND origin = 'CHAIN'"
                        + " AND failure_code IS NOT NULL AND confirmed_at IS NULL ORDER BY seen_at LIMIT :limit")
                .param("limit", limit).query(ROW).list();
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 3) + "...";
    }

    private static Long nullableLong(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
    }

    private static final RowMapper<JournalEntry> ROW = (rs, rowNum) -> {
        InferenceSpec spec = new InferenceSpec(
                rs.getString("id"), RequestOrigin.valueOf(rs.getString("origin")), rs.getString("consumer"),
                rs.getString("model_id"), InferenceSpec.decodeAdapters(rs.getString("adapters")),
                Numeric.hexStringToByteArray(rs.getString("prompt_hex")), rs.getLong("max_tokens"), rs.getLong("temperature"),
                rs.getLong("top_p"), new BigInteger(rs.getString("seed")), rs.getLong("callback_gas_limit"),
                rs.getLong("deadline"), new BigInteger(rs.getString("fee")), rs.getString("assigned_oracle"),
                rs.getLong("exclusive_until"), PromptFormat.valueOf(rs.getString("prompt_format")));
        Long block = nullableLong(rs, "block_number");
        ChainOrigin origin = block == null ? null
                : new ChainOrigin(block, rs.getString("block_hash"), rs.getLong("log_index"), rs.getString("request_tx_hash"));
        Long code = nullableLong(rs, "failure_code");
        return new JournalEntry(spec, origin, RequestState.valueOf(rs.getString("state")), rs.getInt("version"),
                rs.getString("reason"), code == null ? null : code.intValue(), rs.getString("output"), rs.getInt("output_tokens"),
                rs.getString("result_commitment"), rs.getString("tx_hash"), rs.getString("tx_kind"), nullableLong(rs, "gas_used"),
                nullableLong(rs, "generation_nanos"), rs.getInt("attempts"),
                new JournalEntry.Timings(rs.getLong("seen_at"), nullableLong(rs, "fetch_started_at"),
                        nullableLong(rs, "run_started_at"), nullableLong(rs, "submitted_at"), nullableLong(rs, "confirmed_at"),
                        nullableLong(rs, "unloaded_at"), nullableLong(rs, "finished_at"), rs.getLong("updated_at")));
    };
}

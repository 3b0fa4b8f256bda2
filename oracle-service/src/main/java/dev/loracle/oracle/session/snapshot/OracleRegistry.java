package dev.loracle.oracle.session.snapshot;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Whether an address is a registered oracle of the coordinator, asked on-chain and remembered for a while: a yes for
 * {@code ttl} (an oracle removed on-chain is believed until then), a no for a tenth of it (a newly added oracle is
 * believed soon). A failing lookup is a SnapshotRejection("registry_unavailable"), never a yes.
 */
final class OracleRegistry {
    private record Answer(boolean oracle, Instant until) {
    }

    private final Predicate<String> isOracleOnChain;
    private final Duration ttl;
    private final Clock clock;
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();

    OracleRegistry(Predicate<String> isOracleOnChain, Duration ttl, Clock clock) {
        this.isOracleOnChain = isOracleOnChain;
        this.ttl = ttl;
        this.clock = clock;
    }

    boolean isOracle(String address) {
        String key = address.toLowerCase(Locale.ROOT);
        Instant now = clock.instant();
        Answer known = answers.get(key);
        if (known != null && now.isBefore(known.until())) return known.oracle();
        boolean oracle;
        try {
            oracle = isOracleOnChain.test(key);
        } catch (RuntimeException e) {
            throw new SnapshotRejection("registry_unavailable", "cannot ask the coordinator whether " + key + " is an oracle: " + e.getMessage());
        }
        answers.put(key, new Answer(oracle, now.plus(oracle ? ttl : ttl.dividedBy(10))));
        if (answers.size() > 10_000) answers.clear();   // bounded: signers are few, garbage addresses are not kept
        return oracle;
    }
}

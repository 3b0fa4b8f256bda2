package dev.loracle.oracle.session;

import dev.loracle.contracts.SessionHead;
import dev.loracle.oracle.chain.CoordinatorClient;
import dev.loracle.oracle.chain.InferenceRequestConverter;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.SessionJournal;
import dev.loracle.runtime.tokenizer.Tokenizer;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.web3j.utils.Numeric;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Rebuilds a session's {@link CanonicalHistory} before one of its turns from chain data: the earlier turns' prompts
 * (their InferenceRequested events, in the request journal) and fulfilled outputs (the calldata of their fulfillTurn
 * transactions, read once and kept in the session journal). The turn is ready only when every earlier turn has ended
 * on-chain, so the history cannot change under it (the coordinator only needs the direct predecessor ended, but an
 * earlier turn still pending could otherwise be fulfilled after this one and be missing from its history).
 */
public class SessionHistory {
    private static final Logger log = LoggerFactory.getLogger(SessionHistory.class);

    /** Why a turn cannot be generated yet: an earlier turn that has not ended (or is not journaled yet). */
    public record Blocked(int turnIndex, String reason) {
    }

    /** Either the rebuilt history or what blocks it. */
    public record Outcome(RebuiltHistory history, Blocked blocked) {
        public boolean ready() {
            return history != null;
        }
    }

    private final SessionJournal sessions;
    private final RequestJournal requests;
    private final CoordinatorClient chain;
    private final Tokenizer tokenizer;
    private final String modelProfile;
    private final MeterRegistry meters;

    /** @param modelProfile the model's registered numeric profile (the head's first component) */
    public SessionHistory(SessionJournal sessions, RequestJournal requests, CoordinatorClient chain, Tokenizer tokenizer,
                          String modelProfile, MeterRegistry meters) {
        this.sessions = sessions;
        this.requests = requests;
        this.chain = chain;
        this.tokenizer = tokenizer;
        this.modelProfile = modelProfile;
        this.meters = meters;
    }

    /**
     * The history before {@code turn} and the tokens it is generated after. Throws when an output cannot be read from
     * the chain now (RPC down, or a fulfilment not sent as a direct fulfillTurn call): the caller retries.
     */
    public Outcome rebuild(SessionTurnRecord turn, InferenceSpec turnSpec) {
        List<SessionTurnRecord> all = sessions.turns(turn.sessionId());
        List<CanonicalHistory.EndedTurn> ended = new ArrayList<>();
        List<String> cids = new ArrayList<>();
        String parentCid = "";
        SessionTurnRecord lastFulfilled = null;
        for (int j = 0; j < turn.index(); j++) {
            SessionTurnRecord earlier = j < all.size() && all.get(j).index() == j ? all.get(j) : find(all, j);
            if (earlier == null) return blocked(j, "turn " + j + " of the session is not journaled yet");
            if (!earlier.status().ended()) return blocked(j, "turn " + j + " (" + earlier.requestId() + ") has not ended on-chain");
            if (earlier.status() != SessionTurnStatus.FULFILLED) {
                ended.add(new CanonicalHistory.EndedTurn(null, null));
                cids.add("");
                continue;
            }
            InferenceSpec spec = requests.find(earlier.requestId()).map(e -> e.spec()).orElse(null);
            if (spec == null) return blocked(j, "the request of turn " + j + " is not journaled yet");
            ended.add(new CanonicalHistory.EndedTurn(spec.promptText(), output(earlier)));
            String cid = cidString(earlier.snapshotCidHex());
            cids.add(cid);
            parentCid = cid;
            lastFulfilled = earlier;
        }
        int[] history = CanonicalHistory.of(tokenizer, ended);
        if (lastFulfilled != null) checkHead(lastFulfilled, turnSpec, history);
        int[] prompt = CanonicalHistory.withPrompt(tokenizer, history, turnSpec.promptText());
        return new Outcome(new RebuiltHistory(turn, history, prompt, cids, parentCid), null);
    }

    /** The canonical tokens after a turn this node generated, and the head committing to them. */
    public record Advanced(int[] tokens, byte[] head) {
    }

    public Advanced advance(int[] promptTokens, String output, InferenceSpec spec) {
        return advance(tokenizer, modelProfile, promptTokens, output, spec);
    }

    /**
     * The canonical tokens after turn {@code spec} (generated after {@code promptTokens}) ended with {@code output}, and
     * the head its fulfilment records ({@code computeSessionHead} over the model's profile, the adapters and the tokens).
     */
    public static Advanced advance(Tokenizer tokenizer, String modelProfile, int[] promptTokens, String output, InferenceSpec spec) {
        int[] tokens = CanonicalHistory.withOutput(tokenizer, promptTokens, output);
        return new Advanced(tokens, head(modelProfile, spec, tokens));
    }

    private static byte[] head(String modelProfile, InferenceSpec spec, int[] tokens) {
        return SessionHead.compute(modelProfile, InferenceRequestConverter.toStructAdapters(spec.adapters()), tokens);
    }

    /** Compares the head the previous turn's oracle recorded with ours: a mismatch means another tokenization rule. */
    private void checkHead(SessionTurnRecord previous, InferenceSpec spec, int[] history) {
        if (previous.head() == null) return;
        String ours = Numeric.toHexString(head(modelProfile, spec, history));
        if (!ours.equalsIgnoreCase(previous.head())) {
            meters.counter("loracle.session.head.mismatch").increment();
            log.warn("session {} turn {}: the recorded head {} is not the head of our canonical history ({}); serving our"
                    + " canonical history", previous.sessionId(), previous.index(), previous.head(), ours);
        }
    }

    private byte[] output(SessionTurnRecord t) {
        if (t.outputHex() != null) return Numeric.hexStringToByteArray(t.outputHex());
        if (t.endTxHash() == null) throw new IllegalStateException("turn " + t.index() + " is fulfilled but its transaction is unknown");
        Optional<byte[]> out = chain.fulfilledTurnOutput(t.endTxHash());
        if (out.isEmpty()) {
            throw new IllegalStateException("the output of turn " + t.index() + " cannot be read from transaction " + t.endTxHash()
                    + " (not found, or not a direct fulfillTurn call)");
        }
        sessions.recordOutput(t.sessionId(), t.index(), Numeric.toHexString(out.get()));
        return out.get();
    }

    private static SessionTurnRecord find(List<SessionTurnRecord> all, int index) {
        return all.stream().filter(t -> t.index() == index).findFirst().orElse(null);
    }

    private static Outcome blocked(int index, String reason) {
        return new Outcome(null, new Blocked(index, reason));
    }

    /** The on-chain binary CID (hex) as a CID string; "" for none. */
    static String cidString(String hex) {
        if (hex == null) return "";
        byte[] bytes = Numeric.hexStringToByteArray(hex);
        if (bytes.length == 0) return "";
        try {
            return dev.loracle.ipfs.Cid.fromBytes(bytes).toString();
        } catch (RuntimeException invalid) { // the coordinator checks CIDs; a bad one is no snapshot, not an error
            return "";
        }
    }
}

package dev.loracle.oracle.session;

import java.util.List;

/**
 * A session turn ready to generate: the canonical tokens of the turns before it, the tokens it is generated after
 * (that history plus its prompt), and the snapshot CIDs of the earlier turns as on-chain (oldest first, "" for a
 * turn that published none or did not end fulfilled).
 */
public record RebuiltHistory(SessionTurnRecord turn, int[] historyTokens, int[] promptTokens, List<String> snapshotCids,
                             String parentCid) {
    public RebuiltHistory {
        historyTokens = historyTokens.clone();
        promptTokens = promptTokens.clone();
        snapshotCids = List.copyOf(snapshotCids);
    }

    @Override
    public int[] historyTokens() {
        return historyTokens.clone();
    }

    @Override
    public int[] promptTokens() {
        return promptTokens.clone();
    }
}

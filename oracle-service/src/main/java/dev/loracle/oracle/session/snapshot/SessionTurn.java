package dev.loracle.oracle.session.snapshot;

import dev.loracle.runtime.session.KvSnapshots;
import java.math.BigInteger;

/** What identifies a session turn's KV rows on this node. */
public record SessionTurn(BigInteger sessionId, int turnIndex, BigInteger requestId, KvSnapshots.AdapterSet adapters) {}

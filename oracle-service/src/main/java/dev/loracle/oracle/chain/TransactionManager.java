package dev.loracle.oracle.chain;

import dev.loracle.oracle.config.OracleProperties;
import dev.loracle.oracle.journal.TxJournal;
import dev.loracle.oracle.journal.TxRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.web3j.crypto.Hash;
import org.web3j.crypto.RawTransaction;
import org.web3j.crypto.TransactionEncoder;
import org.web3j.protocol.core.DefaultBlockParameterName;
import org.web3j.protocol.core.methods.request.Transaction;
import org.web3j.protocol.core.methods.response.EthBlock;
import org.web3j.protocol.core.methods.response.TransactionReceipt;
import org.web3j.utils.Convert;
import org.web3j.utils.Numeric;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Owns the oracle key and its nonces. Signing is serialised (one lock), every signed tx is journaled before it is
 * broadcast, fees are EIP-1559 under a hard cap, stuck txs are re-broadcast with a fee bump, "nonce too low" re-syncs the
 * nonce from the chain, and {@link #poll()} follows receipts to N confirmations, noticing reorged-away receipts and
 * dropped txs (which are re-broadcast from the journaled raw tx).
 */
public class TransactionManager {
    private static final Logger log = LoggerFactory.getLogger(TransactionManager.class);
    private static final BigInteger GWEI = BigInteger.TEN.pow(9);

    private final RpcGateway rpc;
    private final OracleKey key;
    private final String to;
    private final TxJournal txs;
    private final OracleProperties.Tx policy;
    private final int confirmations;
    private final Clock clock;
    private final ReentrantLock signing = new ReentrantLock();
    private final List<TxOutcomeListener> listeners = new CopyOnWriteArrayList<>();
    private final Counter gasSpent;
    private final Counter feesPaidGwei;
    private volatile Long chainId;
    private Long nextNonce; // guarded by signing

    public TransactionManager(RpcGateway rpc, OracleKey key, String coordinator, TxJournal txs, OracleProperties.Tx policy,
                              int confirmations, Clock clock, MeterRegistry meters) {
        this.rpc = rpc;
        this.key = key;
        this.to = coordinator;
        this.txs = txs;
        this.policy = policy;
        this.confirmations = Math.max(1, confirmations);
        this.clock = clock;
        this.gasSpent = meters.counter("loracle.tx.gas.used");
        this.feesPaidGwei = meters.counter("loracle.tx.fees.paid.gwei");
    }

    public void addListener(TxOutcomeListener listener) {
        listeners.add(listener);
    }

    public String address() {
        return key.address();
    }

    /** Signs a digest with the oracle key (r || s || v), e.g. a KV snapshot's header and rows. */
    public byte[] signDigest(byte[] digest) {
        return key.signDigest(digest);
    }

    public long chainId() {
        Long id = chainId;
        if (id == null) {
            id = rpc.send("eth_chainId", w -> w.ethChainId()).getChainId().longValueExact();
            chainId = id;
        }
        return id;
    }

    /** The oracle account's balance at the latest block, in wei. */
    public BigInteger balance() {
        return rpc.send("eth_getBalance", w -> w.ethGetBalance(key.address(), DefaultBlockParameterName.LATEST)).getBalance();
    }

    /** eth_call against the latest block (view functions). */
    public String call(String data) {
        return rpc.send("eth_call", w -> w.ethCall(Transaction.createEthCallTransaction(key.address(), to, data),
                DefaultBlockParameterName.LATEST)).getValue();
    }

    /**
     * Estimates, signs, journals and broadcasts a call to the coordinator. Throws {@link RpcErrorException} when the call
     * would revert (estimation fails) - nothing is journaled then, and no nonce is used.
     */
    public TxRecord send(String requestId, TxRecord.TxKind kind, String data) {
        long gasLimit = estimateGas(data);
        signing.lock();
        try {
            long nonce = allocateNonce();
            Fees fees = initialFees();
            String raw = sign(nonce, gasLimit, data, fees);
            TxRecord record = txs.insert(requestId, kind, nonce, Hash.sha3(raw), raw, fees.maxFee, fees.priority, gasLimit);
            return broadcastNew(record, data);
        } finally {
            signing.unlock();
        }
    }

    private long estimateGas(String data) {
        BigInteger estimate = rpc.send("eth_estimateGas", w -> w.ethEstimateGas(
                Transaction.createFunctionCallTransaction(key.address(), null, null, null, to, data))).getAmountUsed();
        // margin: the callback runs with an exact gas amount, and state may change between estimate and inclusion
        return estimate.longValueExact() * 5 / 4 + 25_000;
    }

    /** Broadcast of a freshly signed tx; "nonce too low" re-syncs the nonce and re-signs (at most 3 times). */
    private TxRecord broadcastNew(TxRecord record, String data) {
        TxRecord current = record;
        for (int attempt = 0; ; attempt++) {
            try {
                broadcast(current.rawTx());
                nextNonce = current.nonce() + 1;
                log.info("sent {} tx {} nonce {} maxFee {} gwei", current.kind(), current.txHash(), current.nonce(),
                        new BigDecimal(current.maxFee()).divide(new BigDecimal(GWEI)));
                return current;
            } catch (RpcErrorException e) {
                String msg = e.lowerMessage();
                if ((msg.contains("nonce too low") || msg.contains("replacement transaction underpriced")
                        || msg.contains("nonce has already been used")) && attempt < 3) {
                    long chainNonce = pendingNonce();
                    long fresh = Math.max(chainNonce, current.nonce() + 1);
                    log.warn("{} for nonce {}: re-syncing to {}", e.getMessage(), current.nonce(), fresh);
                    Fees fees = new Fees(current.maxFee(), current.priorityFee());
                    String raw = sign(fresh, current.gasLimit(), data, fees);
                    txs.rebroadcast(current.id(), fresh, Hash.sha3(raw), raw, fees.maxFee, fees.priority);
                    current = txs.get(current.id());
                    continue;
                }
                // not sent: the nonce stays free for the next tx; the journaled record is closed as superseded
                txs.setStatus(current.id(), TxRecord.TxStatus.SUPERSEDED);
                nextNonce = current.nonce();
                throw e;
            } catch (RuntimeException transport) {
                // we cannot know whether it reached a mempool: keep the record PENDING; poll() re-broadcasts it
                nextNonce = current.nonce() + 1;
                log.warn("broadcast of {} uncertain ({}); the receipt tracker will re-send it", current.txHash(), transport.getMessage());
                return current;
            }
        }
    }

    private void broadcast(String raw) {
        try {
            rpc.send("eth_sendRawTransaction", w -> w.ethSendRawTransaction(raw));
        } catch (RpcErrorException e) {
            if (e.lowerMessage().contains("already known") || e.lowerMessage().contains("already imported")) return;
            throw e;
        }
    }

    private long allocateNonce() {
        if (nextNonce == null) {
            long chain = pendingNonce();
            long journaled = txs.maxNonce().map(n -> n + 1).orElse(0L);
            nextNonce = Math.max(chain, journaled);
            log.info("nonce initialised to {} (chain pending {}, journal next {})", nextNonce, chain, journaled);
        }
        return nextNonce;
    }

    private long pendingNonce() {
        return rpc.send("eth_getTransactionCount", w -> w.ethGetTransactionCount(key.address(), DefaultBlockParameterName.PENDING))
                .getTransactionCount().longValueExact();
    }

    private long latestNonce() {
        return rpc.send("eth_getTransactionCount", w -> w.ethGetTransactionCount(key.address(), DefaultBlockParameterName.LATEST))
                .getTransactionCount().longValueExact();
    }

    private record Fees(BigInteger maxFee, BigInteger priority) {
    }

    private BigInteger cap() {
        return Convert.toWei(policy.maxFeeCapGwei(), Convert.Unit.GWEI).toBigInteger();
    }

    private Fees initialFees() {
        BigInteger priority = Convert.toWei(policy.priorityFeeGwei(), Convert.Unit.GWEI).toBigInteger();
        EthBlock.Block head = rpc.send("eth_getBlockByNumber", w -> w.ethGetBlockByNumber(DefaultBlockParameterName.LATEST, false)).getBlock();
        BigInteger base = head.getBaseFeePerGas() == null ? BigInteger.ZERO : head.getBaseFeePerGas();
        BigInteger maxFee = base.multiply(BigInteger.TWO).add(priority);
        BigInteger cap = cap();
        if (maxFee.compareTo(cap) > 0) {
            log.warn("fee cap {} gwei below 2*baseFee+tip; the tx may wait for the base fee to fall", policy.maxFeeCapGwei());
            maxFee = cap;
        }
        if (priority.compareTo(maxFee) > 0) priority = maxFee;
        return new Fees(maxFee, priority);
    }

    private Fees bumped(TxRecord tx) {
        BigInteger pct = BigInteger.valueOf(100 + policy.feeBumpPercent());
        BigInteger priority = tx.priorityFee().multiply(pct).divide(BigInteger.valueOf(100)).add(BigInteger.ONE);
        BigInteger maxFee = tx.maxFee().multiply(pct).divide(BigInteger.valueOf(100)).add(BigInteger.ONE);
        BigInteger cap = cap();
        if (maxFee.compareTo(cap) > 0) maxFee = cap;
        if (priority.compareTo(maxFee) > 0) priority = maxFee;
        return new Fees(maxFee, priority);
    }

    private String sign(long nonce, long gasLimit, String data, Fees fees) {
        RawTransaction raw = RawTransaction.createTransaction(chainId(), BigInteger.valueOf(nonce), BigInteger.valueOf(gasLimit),
                to, BigInteger.ZERO, data, fees.priority, fees.maxFee);
        return Numeric.toHexString(TransactionEncoder.signMessage(raw, key.credentials()));
    }

    /** Follows every open tx one step: receipts, confirmations, reorgs, drops, stuck fee bumps. */
    public void poll() {
        List<TxRecord> open = txs.open();
        if (open.isEmpty()) return;
        long head = rpc.send("eth_blockNumber", w -> w.ethBlockNumber()).getBlockNumber().longValueExact();
        List<String> hashes = new ArrayList<>();
        for (TxRecord tx : open) hashes.addAll(tx.hashes());
        Map<String, Optional<TransactionReceipt>> receipts = rpc.receipts(hashes); // one round trip for all of them
        // and one more for whether the node still knows those without a receipt (a drop is seen as "unknown")
        List<String> unmined = open.stream().filter(tx -> latestReceipt(tx, receipts).isEmpty()).map(TxRecord::txHash).toList();
        Map<String, Boolean> known = unmined.isEmpty() ? Map.of() : rpc.known(unmined);
        for (TxRecord tx : open) {
            MDC.put("requestId", tx.requestId());
            try {
                follow(tx, head, latestReceipt(tx, receipts), known.getOrDefault(tx.txHash(), true));
            } catch (RuntimeException e) {
                log.warn("tracking tx {} failed this round: {}", tx.txHash(), e.getMessage());
            } finally {
                MDC.remove("requestId");
            }
        }
    }

    /** The receipt of the latest broadcast of {@code tx} that has one, from a batched answer. */
    private static Optional<TransactionReceipt> latestReceipt(TxRecord tx, Map<String, Optional<TransactionReceipt>> receipts) {
        for (int i = tx.hashes().size() - 1; i >= 0; i--) {
            Optional<TransactionReceipt> r = receipts.getOrDefault(tx.hashes().get(i), Optional.empty());
            if (r.isPresent()) return r;
        }
        return Optional.empty();
    }

    private void follow(TxRecord tx, long head, Optional<TransactionReceipt> receipt, boolean known) {
        if (receipt.isPresent()) {
            TransactionReceipt r = receipt.get();
            long block = r.getBlockNumber().longValueExact();
            if (tx.status() == TxRecord.TxStatus.PENDING || !r.getBlockHash().equals(tx.blockHash())) {
                BigInteger price = r.getEffectiveGasPrice() == null ? BigInteger.ZERO : Numeric.decodeQuantity(r.getEffectiveGasPrice());
                BigInteger fee = price.multiply(r.getGasUsed());
                txs.markMined(tx.id(), r.getTransactionHash(), block, r.getBlockHash(), r.getGasUsed().longValueExact(), fee, r.isStatusOK());
                log.info("tx {} mined in block {} (status {}, gas {})", r.getTransactionHash(), block, r.isStatusOK() ? "ok" : "reverted", r.getGasUsed());
            }
            if (head - block + 1 >= confirmations) {
                TxRecord mined = txs.get(tx.id());
                txs.setStatus(tx.id(), r.isStatusOK() ? TxRecord.TxStatus.CONFIRMED : TxRecord.TxStatus.REVERTED);
                gasSpent.increment(r.getGasUsed().doubleValue());
                feesPaidGwei.increment(new BigDecimal(mined.feePaidWei() == null ? BigInteger.ZERO : mined.feePaidWei())
                        .divide(new BigDecimal(GWEI)).doubleValue());
                TxRecord done = txs.get(tx.id());
                listeners.forEach(l -> l.onFinal(done, r.isStatusOK()));
            }
            return;
        }
        if (tx.status() == TxRecord.TxStatus.MINED) {
            log.warn("receipt of {} vanished (block {} reorged away); tracking it as pending again", tx.txHash(), tx.blockNumber());
            txs.unmine(tx.id());
        }
        long age = clock.millis() - tx.lastSentAt();
        if (!known) {
            // decide under the signing lock on a fresh copy: a send() may be between journaling and broadcasting
            // this very record, or may have re-signed it with another nonce
            signing.lock();
            try {
                TxRecord fresh = txs.get(tx.id());
                if (!fresh.status().open() || findReceipt(fresh).isPresent()) return; // next round records it
                if (rpc.send("eth_getTransactionByHash", w -> w.ethGetTransactionByHash(fresh.txHash())).getTransaction().isPresent()) return;
                if (latestNonce() > fresh.nonce()) {
                    if (findReceipt(fresh).isPresent()) return;
                    log.warn("nonce {} of tx {} was consumed by another tx; handing the request back", fresh.nonce(), fresh.txHash());
                    txs.setStatus(fresh.id(), TxRecord.TxStatus.SUPERSEDED);
                    listeners.forEach(l -> l.onSuperseded(txs.get(fresh.id())));
                    return;
                }
                log.warn("tx {} (nonce {}) is unknown to the node (dropped or never sent); re-broadcasting", fresh.txHash(), fresh.nonce());
                rebroadcastRaw(fresh);
            } finally {
                signing.unlock();
            }
            return;
        }
        if (age >= policy.stuckAfter().toMillis()) {
            bump(tx);
        }
    }

    private void rebroadcastRaw(TxRecord tx) {
        try {
            broadcast(tx.rawTx());
            txs.markSent(tx.id());
        } catch (RpcErrorException e) {
            if (e.lowerMessage().contains("nonce too low")) {
                log.warn("re-broadcast of {}: nonce too low; will re-check receipts", tx.txHash());
            } else {
                throw e;
            }
        }
    }

    private void bump(TxRecord tx) {
        signing.lock();
        try {
            Fees fees = bumped(tx);
            if (fees.maxFee.compareTo(tx.maxFee()) <= 0) {
                log.warn("tx {} stuck at the fee cap ({} gwei); re-broadcasting unchanged", tx.txHash(), policy.maxFeeCapGwei());
                rebroadcastRaw(tx);
                return;
            }
            String data = decodeInput(tx.rawTx());
            String raw = sign(tx.nonce(), tx.gasLimit(), data, fees);
            String hash = Hash.sha3(raw);
            txs.rebroadcast(tx.id(), tx.nonce(), hash, raw, fees.maxFee, fees.priority);
            log.info("tx {} stuck for {} ms: re-broadcast as {} with maxFee {} wei", tx.txHash(),
                    clock.millis() - tx.lastSentAt(), hash, fees.maxFee);
            broadcast(raw);
        } finally {
            signing.unlock();
        }
    }

    private static String decodeInput(String rawTx) {
        return org.web3j.crypto.TransactionDecoder.decode(rawTx).getData();
    }

    /** A successful-or-not receipt of any broadcast of {@code tx}, if one is on the canonical chain. */
    public Optional<TransactionReceipt> findReceipt(TxRecord tx) {
        for (int i = tx.hashes().size() - 1; i >= 0; i--) {
            String h = tx.hashes().get(i);
            Optional<TransactionReceipt> r = rpc.send("eth_getTransactionReceipt", w -> w.ethGetTransactionReceipt(h)).getTransactionReceipt();
            if (r.isPresent()) return r;
        }
        return Optional.empty();
    }

    /** The calldata of a mined transaction (anyone's), or empty when the node does not know the hash. */
    public Optional<String> transactionInput(String txHash) {
        return rpc.send("eth_getTransactionByHash", w -> w.ethGetTransactionByHash(txHash)).getTransaction()
                .map(org.web3j.protocol.core.methods.response.Transaction::getInput);
    }
}

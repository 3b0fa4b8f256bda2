package dev.loracle.oracle.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;

/**
 * Every setting of the node, under the prefix {@code loracle}. Validated at start-up: a bad value stops the node with a
 * message naming the key (Spring's bind/validation failure report).
 */
@Validated
@ConfigurationProperties(prefix = "loracle")
public record OracleProperties(
        @Valid @NotNull @DefaultValue Chain chain,
        @Valid @NotNull @DefaultValue Key key,
        @Valid @NotNull @DefaultValue Tx tx,
        @Valid @NotNull @DefaultValue Ipfs ipfs,
        @Valid @NotNull @DefaultValue Model model,
        @Valid @NotNull @DefaultValue Scheduler scheduler,
        @Valid @NotNull @DefaultValue Api api) {

    /** Chain access and ingestion. */
    public record Chain(
            /** false = off-chain node only (completions API); no RPC is contacted. */
            @DefaultValue("true") boolean enabled,
            /** HTTP(S) JSON-RPC endpoints, tried in order (failover). */
            @DefaultValue @NotNull List<@Pattern(regexp = "https?://.+", message = "must be an http(s) URL") String> rpcUrls,
            /** WebSocket endpoint for log subscriptions; empty = derived from the first RPC URL (ws://same host:port). */
            @DefaultValue("") @Pattern(regexp = "(wss?://.+)?", message = "must be a ws(s) URL or empty") String wsUrl,
            /** InferenceCoordinator address. */
            @DefaultValue("") @Pattern(regexp = "(0x[0-9a-fA-F]{40})?", message = "must be a 0x-prefixed 20-byte address") String coordinatorAddress,
            /** Blocks a request log needs before it is acted on (0 and 1 both mean: as soon as it is seen). */
            @DefaultValue("0") @Min(0) @Max(1000) int confirmations,
            /** Confirmations a fulfil / reportFailure tx needs before the request counts as CONFIRMED. */
            @DefaultValue("0") @Min(0) @Max(1000) int txConfirmations,
            /** First block scanned when no cursor is persisted yet. */
            @DefaultValue("0") @Min(0) long startBlock,
            /** Largest eth_getLogs range asked for; halved on refusal. */
            @DefaultValue("2000") @Min(1) long maxLogRange,
            /** How often the head, reorgs and missed logs are checked (the safety net under the WebSocket). */
            @DefaultValue("1s") @NotNull Duration pollInterval,
            /** How many blocks back ingested block hashes are re-checked for reorgs. */
            @DefaultValue("64") @Min(1) int reorgDepth,
            /** Subscribe over WebSocket for latency (polling alone still works when false). */
            @DefaultValue("true") boolean websocket,
            /** Per-call timeout of an RPC request. */
            @DefaultValue("10s") @NotNull Duration rpcTimeout) {
        @AssertTrue(message = "loracle.chain.rpc-urls must list at least one URL and loracle.chain.coordinator-address must be set when loracle.chain.enabled=true")
        public boolean isComplete() {
            return !enabled || (!rpcUrls.isEmpty() && !coordinatorAddress.isBlank());
        }
    }

    /** Where the oracle key comes from: a raw hex key (env ORACLE_PRIVATE_KEY) or a keystore (UTC JSON) file + password. */
    public record Key(
            @DefaultValue("") String privateKey,
            @DefaultValue("") String keystoreFile,
            @DefaultValue("") String keystorePassword) {
        @AssertTrue(message = "set exactly one of loracle.key.private-key (env ORACLE_PRIVATE_KEY) or loracle.key.keystore-file")
        public boolean isExclusive() {
            return privateKey.isBlank() || keystoreFile.isBlank();
        }

        @Override
        public String toString() { // never print the secret
            return "Key[privateKey=" + (privateKey.isBlank() ? "<unset>" : "<redacted>") + ", keystoreFile=" + keystoreFile + "]";
        }
    }

    /** Transaction policy (EIP-1559). */
    public record Tx(
            /** Upper bound of maxFeePerGas, in gwei: never paid above it, even when bumping. */
            @DefaultValue("200") @DecimalMin("0.000000001") BigDecimal maxFeeCapGwei,
            /** maxPriorityFeePerGas to start with, in gwei. */
            @DefaultValue("1") @DecimalMin("0") BigDecimal priorityFeeGwei,
            /** A sent tx without receipt after this long is re-broadcast with bumped fees. */
            @DefaultValue("30s") @NotNull Duration stuckAfter,
            /** Fee bump per re-broadcast, percent (nodes require >= 10). */
            @DefaultValue("15") @Min(10) @Max(500) int feeBumpPercent,
            /** Fallback gas limit when estimation fails. */
            @DefaultValue("3000000") @Min(21000) long fallbackGasLimit,
            /** How often receipts are polled. */
            @DefaultValue("500ms") @NotNull Duration receiptPollInterval) {
    }

    /** IPFS access and the adapter cache. */
    public record Ipfs(
            @DefaultValue @NotEmpty List<@Pattern(regexp = "https?://.+", message = "must be an http(s) URL") String> apiUrls,
            /** Adapter cache directory (relative paths resolve against the working directory). */
            @NotBlank String cacheDir,
            @DefaultValue("2147483648") @Min(1) long maxDiskBytes,
            @DefaultValue("536870912") @Min(1) long maxMemoryBytes,
            /** Largest adapter accepted (bytes, whole PEFT directory); larger -> ADAPTER_INVALID. */
            @DefaultValue("268435456") @Min(1) long maxAdapterBytes,
            @DefaultValue("20s") @NotNull Duration fetchTimeout,
            /** Bytes of parsed adapters kept in memory for reuse (LRU). */
            @DefaultValue("268435456") @Min(1) long maxParsedBytes,
            /** Adapter CIDs fetched and parsed at start-up so their first requests find them warm. */
            @DefaultValue @NotNull List<String> pinnedCids,
            /** How long an endpoint's open circuit breaker skips it before probing again. Short, because with a single
             *  endpoint every fetch while it is open fails on-chain (and is refunded). */
            @DefaultValue("5s") @NotNull Duration breakerOpenDuration) {
    }

    /** The base model this node serves. */
    public record Model(
            /** Name for the completions API ("model" field). */
            @NotBlank String name,
            /** On-chain modelId (bytes32 hex); empty = keccak256(name). */
            @DefaultValue("") @Pattern(regexp = "(0x[0-9a-fA-F]{64})?", message = "must be a 0x-prefixed bytes32") String id,
            /** Further on-chain modelIds registered for the same weights and profile (e.g. other fee schedules); this
             *  node serves requests for {@code id} and these, and leaves every other model's requests alone. */
            @DefaultValue @NotNull List<@Pattern(regexp = "0x[0-9a-fA-F]{64}", message = "must be a 0x-prefixed bytes32") String> additionalIds,
            /** Model file (GGUF or llama2.c .bin). */
            @NotBlank String path,
            /** Tokenizer file for llama2.c models; empty for GGUF. */
            @DefaultValue("") String tokenizerPath,
            /** Expected sha256 of the model file (bytes32); empty = take it from the coordinator's registry (chain) or
             *  from the file. With a chain the file is always hashed and must match the registered hash. */
            @DefaultValue("") @Pattern(regexp = "(0x[0-9a-fA-F]{64})?", message = "must be a 0x-prefixed bytes32") String weightsHash,
            @DefaultValue("AS_FILE") @Pattern(regexp = "F32|Q8_0|Q4_0|AS_FILE") String quant,
            @DefaultValue("CPU") @Pattern(regexp = "AUTO|CPU|CUDA") String backend,
            @DefaultValue("0") @Min(0) int threads,
            /** Memory red line of the runtime in bytes (0 = backend default). */
            @DefaultValue("0") @Min(0) long redLineBytes,
            @DefaultValue("UNMERGED") @Pattern(regexp = "MERGED|UNMERGED") String attachMode,
            /** KV cache element type, part of the registered numeric profile (F16 is llama.cpp's default cache). */
            @DefaultValue("F32") @Pattern(regexp = "F32|F16|INT8") String kvCache,
            /** Keep session turns' KV blocks as a prefix cache (reclaimable, evicted LRU), so a session's next turn
             *  prefills only its new tokens; one-shot requests never keep any. */
            @DefaultValue("true") boolean prefixCache) {
    }

    /** Scheduling of requests on the single runtime. */
    public record Scheduler(
            /** Requests waiting for the runtime; beyond it ingestion backs off and the API answers 429. */
            @DefaultValue("256") @Min(1) int queueCapacity,
            /** Sequences in the engine's continuous batch at once, whatever their adapter sets (0 = the engine's running
             *  limit; 1 = one generation at a time). */
            @DefaultValue("0") @Min(0) int maxActiveSequences,
            /** Threads that check prompts and fetch/parse adapters, in parallel with generation. */
            @DefaultValue("8") @Min(1) @Max(64) int fetchThreads,
            /** Margin kept before a deadline: a request that cannot start before deadline - margin expires. */
            @DefaultValue("2s") @NotNull Duration deadlineMargin,
            /** Graceful shutdown: how long in-flight work may take to reach a checkpoint. */
            @DefaultValue("20s") @NotNull Duration shutdownTimeout) {
    }

    /** HTTP API authentication. */
    public record Api(
            /** Keys accepted for POST /v1/completions (header Authorization: Bearer KEY). */
            @DefaultValue @NotNull List<String> keys,
            /** Keys accepted for /api/admin/** (header X-Api-Key or Bearer). */
            @DefaultValue @NotNull List<String> adminKeys,
            /** Largest max_tokens accepted by the completions API. */
            @DefaultValue("256") @Min(1) int maxTokens) {
    }
}

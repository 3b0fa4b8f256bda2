package dev.loracle.oracle.session.snapshot;

import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The KV snapshot exchange between nodes ({@code loracle.session.snapshot.*}). Off by itself when the node has no
 * chain (no oracle key to sign with, no registry to check signers against) or no prefix cache.
 */
@Validated
@ConfigurationProperties(prefix = "loracle.session.snapshot")
public record SnapshotProperties(
        /** Publish a snapshot after each session turn and resume from other nodes' snapshots. */
        @DefaultValue("true") boolean enabled,
        /** How long {@code prepare} waits for the missing links from IPFS, all of them together. */
        @DefaultValue("3s") @NotNull Duration fetchTimeout,
        /** Largest encoded snapshot published or accepted (a one-level file: at most 174 leaves of 512 KiB). */
        @DefaultValue("67108864") @Min(1024) @Max(SnapshotPublisher.MAX_FILE_BYTES) long maxBytes,
        /** Most links walked back to resume; the publisher restarts the chain at position 0 every this many turns. */
        @DefaultValue("32") @Min(1) @Max(4096) int maxChainLength,
        /** Uploads waiting for IPFS; a publish beyond it is not uploaded (logged and counted). */
        @DefaultValue("16") @Min(1) @Max(4096) int uploadQueue,
        /** Bytes of published and fetched snapshots kept in memory, so a link is not fetched twice. */
        @DefaultValue("268435456") @Min(0) long storeBytes,
        /** How far a recomputed row of the last block may be from the snapshot's, relative to the block's largest value. */
        @DefaultValue("0.001") @DecimalMin("0") @DecimalMax("1") double spotCheckTolerance,
        /** How long the coordinator's answer "this address is an oracle" is believed (a "no" for a tenth of it). */
        @DefaultValue("60s") @NotNull Duration oracleCacheTtl) {
}

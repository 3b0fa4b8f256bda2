package dev.loracle.oracle.devstack;

import dev.loracle.ipfs.AdapterPublisher;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.KuboRpcClient;
import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The two example "style" adapters of the demo: random-weight PEFT LoRA adapters for the served model's shape
 * (stories260K by default, or any Llama-layout GGUF) with fixed seeds (same model, same bytes, same CIDs on every
 * run), small enough that the merged model still writes fluent text. They are written as real PEFT directories and
 * added to IPFS as UnixFS directories (CIDv1, pinned).
 */
public final class ExampleAdapters {
    /** stories260K: dim 64, hidden 172, 5 layers, 8 heads, 4 KV heads, vocab 512 (models/README.md). */
    public static final ModelShape STORIES_260K = new ModelShape(ModelShape.LLAMA, 64, 172, 5, 8, 4, 512);

    /** One published adapter: what a request names (CID + fixed-point weight, 1e4 = 1.0). */
    public record Published(String name, Path directory, Cid cid, int weight) {
        /** Binary CID as the coordinator stores it in {@code Adapter.cid}. */
        public byte[] cidBytes() {
            return cid.toBytes();
        }
    }

    /** A style adapter before publication. */
    public record Style(String name, Set<ProjectionKind> kinds, int rank, float alpha, long seed, int weight) {}

    /**
     * "whimsy" nudges attention (q, v), "calm" the feed-forward output (down). The low alpha/rank scale (0.25) and
     * request weights of 0.5 and 0.3 keep the update a small fraction of the base weights, so greedy stories stay
     * readable while still differing from the base model's.
     */
    public static final List<Style> STYLES = List.of(
            new Style("whimsy", EnumSet.of(ProjectionKind.Q, ProjectionKind.V), 4, 1.0f, 0x10AC1E01L, 5_000),
            new Style("calm", EnumSet.of(ProjectionKind.DOWN), 4, 1.0f, 0x10AC1E02L, 3_000));

    private ExampleAdapters() {}

    /** Writes the styles for stories260K under {@code dir/<name>} and publishes each to the IPFS node behind {@code ipfs}. */
    public static List<Published> createAndPublish(Path dir, KuboRpcClient ipfs) {
        return createAndPublish(dir, ipfs, STORIES_260K);
    }

    /** Writes the styles for {@code shape} under {@code dir/<name>} and publishes each to {@code ipfs}. */
    public static List<Published> createAndPublish(Path dir, KuboRpcClient ipfs, ModelShape shape) {
        return writeAll(dir, shape).stream().map(written -> publish(written.directory(), written.style(), ipfs)).toList();
    }

    /** One style written as a PEFT directory, not yet published. */
    public record Written(Style style, Path directory) {}

    /**
     * Writes every style for {@code shape}: the projections they target (q, v, down) exist in every architecture of
     * the Llama layout; any other architecture is refused, naming it.
     */
    public static List<Written> writeAll(Path dir, ModelShape shape) {
        if (!ModelShape.LLAMA_LAYOUT.contains(shape.architecture())) {
            throw new IllegalArgumentException("no example adapters for architecture '" + shape.architecture()
                    + "': they target the Llama projection layout of " + ModelShape.LLAMA_LAYOUT);
        }
        return STYLES.stream().map(style -> new Written(style, write(dir, style, shape))).toList();
    }

    /** Writes one adapter as a PEFT directory and returns it. */
    public static Path write(Path dir, Style style, ModelShape shape) {
        Path target = dir.resolve(style.name());
        PeftAdapter.randomForShape(shape, style.rank(), style.alpha(), style.kinds(), style.seed()).write(target);
        return target;
    }

    /** Adds a PEFT directory to IPFS as a directory holding its two files (the layout the oracle fetches). */
    public static Published publish(Path adapterDir, Style style, KuboRpcClient ipfs) {
        Cid cid = publishDirectory(adapterDir, ipfs);
        return new Published(style.name(), adapterDir, cid, style.weight());
    }

    /** CID of the UnixFS directory with {@code adapterDir}'s files (CIDv1, pinned), via the ipfs module's publisher. */
    public static Cid publishDirectory(Path adapterDir, KuboRpcClient ipfs) {
        return new AdapterPublisher(ipfs).publish(adapterDir);
    }
}

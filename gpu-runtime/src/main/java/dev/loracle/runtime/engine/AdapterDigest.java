package dev.loracle.runtime.engine;

import dev.loracle.runtime.lora.LoraAdapter;
import dev.loracle.runtime.lora.LoraTarget;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** SHA-256 of an adapter's content (architecture, every target's shape, scale, A and B), whatever its name. */
final class AdapterDigest {
    private AdapterDigest() {}

    static byte[] of(LoraAdapter adapter) {
        MessageDigest md = BlockHash.sha256();
        md.update((adapter.architecture() + "\0").getBytes(StandardCharsets.UTF_8));
        ByteBuffer head = ByteBuffer.allocate(5 * 4);
        for (LoraTarget t : adapter.targets()) {
            md.update((t.kind().name() + "\0").getBytes(StandardCharsets.UTF_8));
            head.clear().putInt(t.layer()).putInt(t.rank()).putInt(t.in()).putInt(t.out()).putFloat(t.scale());
            md.update(head.array());
            md.update(t.a().asByteBuffer());
            md.update(t.b().asByteBuffer());
        }
        return md.digest();
    }
}

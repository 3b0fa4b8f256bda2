package dev.loracle.ipfs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;

/** Deterministic test content: random bytes and a small PEFT-like adapter directory. */
final class TestData {
    private TestData() {
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /**
     * A PEFT-shaped adapter: {@code adapter_config.json} and a small but well-formed safetensors file (8-byte header
     * length, JSON header, F32 tensor data). This module treats both as opaque bytes.
     */
    static Path writeAdapter(Path dir, int rank, long seed) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"), """
                {"peft_type":"LORA","r":%d,"lora_alpha":%d,"target_modules":["wq","wv"],"base_model_name_or_path":"stories260K"}
                """.formatted(rank, rank * 2));
        int rows = 64;
        int n = rows * rank;
        String header = "{\"base_model.model.layers.0.attention.wq.lora_A.weight\":{\"dtype\":\"F32\",\"shape\":[" + rank
                + "," + rows + "],\"data_offsets\":[0," + (n * 4) + "]}}";
        byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(8 + headerBytes.length + n * 4).order(ByteOrder.LITTLE_ENDIAN);
        data.putLong(headerBytes.length).put(headerBytes);
        Random r = new Random(seed);
        for (int i = 0; i < n; i++) {
            data.putFloat((float) r.nextGaussian() * 0.01f);
        }
        Files.write(dir.resolve("adapter_model.safetensors"), data.array());
        return dir;
    }

    static byte[] readAll(java.io.InputStream in) throws IOException {
        try (in) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Names of everything directly under {@code dir}. */
    static java.util.List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}

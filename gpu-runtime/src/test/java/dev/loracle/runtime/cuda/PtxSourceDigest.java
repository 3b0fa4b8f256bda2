package dev.loracle.runtime.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The staleness rule of bin/build-ptx, in Java: digest of X.cu = sha256(bytes of X.cu, then the bytes of every *.cuh
 * in the same folder sorted by file name). A header change therefore makes every PTX stale, which is the safe side.
 */
final class PtxSourceDigest {
    private PtxSourceDigest() {}

    static String of(Path cu) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        sha.update(Files.readAllBytes(cu));
        for (Path h : headers(cu.getParent())) sha.update(Files.readAllBytes(h));
        return HexFormat.of().formatHex(sha.digest());
    }

    static List<Path> headers(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            // bin/build-ptx sorts with LC_ALL=C, i.e. by bytes; ASCII names compare the same with String order.
            return s.filter(p -> p.getFileName().toString().endsWith(".cuh"))
                    .sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString())).toList();
        }
    }
}

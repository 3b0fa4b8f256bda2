package dev.loracle.ipfs;

import java.nio.file.Path;
import java.time.Duration;

/**
 * A completed fetch: content of {@code cid} written at {@code path} (a file, or a directory when {@code directory}).
 *
 * @param verified false only when the bytes came over a trusted node's plain {@code cat} path
 */
public record FetchResult(Cid cid, Path path, boolean directory, long bytes, int files, String endpoint,
                          boolean verified, Duration elapsed) {
}

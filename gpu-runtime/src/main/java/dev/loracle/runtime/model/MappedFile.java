package dev.loracle.runtime.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Read-only memory mapping of a whole file as one {@link MemorySegment} (long offsets: files over 2 GiB work). */
public final class MappedFile {
    private MappedFile() {}

    public static MemorySegment map(Path path, Arena arena) {
        if (!Files.isRegularFile(path)) throw new ModelFormatException("model file not found: " + path);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) throw new ModelFormatException("model file is empty: " + path);
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot map " + path, e);
        }
    }
}

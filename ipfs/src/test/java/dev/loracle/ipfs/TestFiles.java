package dev.loracle.ipfs;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Public access to {@link TestData#list} for tests in sub-packages. */
public final class TestFiles {
    private TestFiles() {
    }

    public static List<String> list(Path dir) throws IOException {
        return TestData.list(dir);
    }
}

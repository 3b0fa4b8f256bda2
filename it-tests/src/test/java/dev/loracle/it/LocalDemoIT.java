package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.oracle.devstack.LocalDemo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The README's main command, as {@code scripts/demo} runs it (in-process oracle on the embedded defaults): it must
 * print a story, both transaction hashes, the stage timings and memory back to base, and exit 0.
 */
class LocalDemoIT {
    @Test
    void demoTellsAStoryAndCleansUp() {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        int status;
        try (PrintStream tee = new PrintStream(new TeeStream(original, captured), true, StandardCharsets.UTF_8)) {
            System.setOut(tee);
            status = LocalDemo.runForExitCode("--max-tokens", "32", "--timeout", "120");
        } finally {
            System.setOut(original);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, "demo exit status");
        assertTrue(out.contains("=== story (request 0x"), "prints the story");
        assertTrue(out.matches("(?s).*request  0x[0-9a-f]{64}.*"), "prints the request tx hash");
        assertTrue(out.matches("(?s).*fulfil   0x[0-9a-f]{64}.*callback succeeded.*"), "prints the fulfil tx hash");
        assertTrue(out.contains("attach + generate + commitment:"), "prints stage timings");
        assertTrue(out.contains("back to base: yes"), "memory returns to base");
        assertTrue(out.contains("stopped"), "stops what it started");
    }

    /** Writes to the console and to a buffer. */
    private static final class TeeStream extends java.io.OutputStream {
        private final java.io.OutputStream a;
        private final java.io.OutputStream b;

        TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public void flush() throws java.io.IOException {
            a.flush();
            b.flush();
        }
    }
}

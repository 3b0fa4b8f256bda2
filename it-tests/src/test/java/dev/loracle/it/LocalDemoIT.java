package dev.loracle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.oracle.devstack.DemoModel;
import dev.loracle.oracle.devstack.LocalDemo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.web3j.crypto.Hash;

/**
 * The README's main command, as {@code scripts/demo} runs it (in-process oracle on the embedded defaults): it must
 * print a story, both transaction hashes, the stage timings and memory back to base, and exit 0. With
 * {@code --model FILE} the same holds for a GGUF chat model: registered under its general.name, adapters made for
 * its shape, the story asked for through its chat template.
 */
class LocalDemoIT {
    @Test
    void demoTellsAStoryAndCleansUp() {
        Run run = demo("--max-tokens", "32", "--timeout", "120");
        assertEquals(0, run.status(), "demo exit status");
        assertTellsAStory(run.out());
        assertTrue(run.out().contains("model stories260K (" + modelId("stories260K") + ")"), "registers stories260K");
        assertTrue(run.out().contains("sending tellStory(\"Once upon a time\""), "a RAW story prompt");
    }

    /** Llama 3 (llama-bpe vocabulary, Llama 3.1 rope_freqs, chat template) and Qwen2 (biases, NeoX, ChatML). */
    @ParameterizedTest
    @CsvSource({"arch/llama3-tiny.gguf, llama3-tiny-random, llama", "arch/qwen2-tiny.gguf, qwen2-tiny-random, qwen2"})
    void demoServesAGgufChatModelGivenWithModel(String file, String generalName, String architecture) {
        Path model = ItPaths.modelsDir().resolve(file);
        Run run = demo("--model", model.toString(), "--max-tokens", "16", "--timeout", "150");
        assertEquals(0, run.status(), "demo exit status");
        assertTellsAStory(run.out());
        assertTrue(run.out().contains("model " + generalName + " from " + model + ": " + architecture), "probes the file");
        assertTrue(run.out().contains("prompts CHAT"), "uses the chat template");
        // The node starts only when the chain registers exactly this file's sha256 and the profile it runs.
        assertTrue(run.out().contains("model " + generalName + " (" + modelId(generalName) + ")"), "registers general.name");
        assertTrue(run.out().contains("style adapters for " + generalName + " published"), "adapters for its shape");
        assertTrue(run.out().contains("sending tellChatStory(\"" + DemoModel.CHAT_STORY_REQUEST + "\""), "a CHAT request");
        assertTrue(run.out().contains("> " + DemoModel.CHAT_STORY_REQUEST + "\n"), "prints the user's message");
    }

    @Test
    void unusableModelFileIsRefusedBeforeAnythingStarts(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing.gguf");
        Run run = demo("--model", missing.toString());
        assertEquals(2, run.status(), "exit status");
        assertTrue(run.err().contains("error: model file " + missing + " does not exist"), run.err());
        assertFalse(run.out().contains("anvil"), "starts nothing");

        Path notGguf = Files.writeString(dir.resolve("notes.gguf"), "not a model");
        run = demo("--model", notGguf.toString());
        assertEquals(2, run.status(), "exit status");
        assertTrue(run.err().contains("error: model file " + notGguf + " is not a GGUF file"), run.err());
    }

    private static void assertTellsAStory(String out) {
        assertTrue(out.contains("=== story (request 0x"), "prints the story");
        assertTrue(out.matches("(?s).*request  0x[0-9a-f]{64}.*"), "prints the request tx hash");
        assertTrue(out.matches("(?s).*fulfil   0x[0-9a-f]{64}.*callback succeeded.*"), "prints the fulfil tx hash");
        assertTrue(out.contains("attach + generate + commitment:"), "prints stage timings");
        assertTrue(out.contains("back to base: yes"), "memory returns to base");
        assertTrue(out.contains("stopped"), "stops what it started");
    }

    private static String modelId(String name) {
        return Hash.sha3String(name);
    }

    private record Run(int status, String out, String err) {}

    /** Runs the demo in this JVM with its console teed into buffers. */
    private static Run demo(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream originalOut = System.out;
        PrintStream originalErr = System.err;
        int status;
        try (PrintStream teeOut = new PrintStream(new TeeStream(originalOut, out), true, StandardCharsets.UTF_8);
                PrintStream teeErr = new PrintStream(new TeeStream(originalErr, err), true, StandardCharsets.UTF_8)) {
            System.setOut(teeOut);
            System.setErr(teeErr);
            status = LocalDemo.runForExitCode(args);
        } finally {
            System.setOut(originalOut);
            System.setErr(originalErr);
        }
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
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

package dev.loracle.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.lora.ModelShape;
import dev.loracle.runtime.lora.PeftAdapter;
import dev.loracle.runtime.lora.ProjectionKind;
import dev.loracle.runtime.model.TestModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CliTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = LoracleRuntimeCli.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void generatePrintsTheGoldenStory() {
        Run r = run("generate", TestModels.stories260kBin().toString(), "--tokenizer", TestModels.tok512().toString(),
                "-p", "Once upon a time", "-n", "30", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Once upon a time, there was a little girl named Lily. She loved to play outside"), r.out());
        assertTrue(r.err().contains("decode"), r.err());
    }

    @Test
    void generateWithWeightedAdaptersInBothModes(@TempDir Path tmp) {
        ModelShape shape = new ModelShape(ModelShape.LLAMA, 64, 172, 5, 8, 4, 512);
        PeftAdapter.randomForShape(shape, 4, 8f, EnumSet.of(ProjectionKind.Q, ProjectionKind.V), 5).write(tmp.resolve("a"));
        PeftAdapter.randomForShape(shape, 2, 4f, EnumSet.of(ProjectionKind.O), 6).write(tmp.resolve("b"));
        for (String mode : new String[] {"merged", "unmerged"}) {
            Run r = run("generate", TestModels.ggufQ8().toString(), "--adapter", tmp.resolve("a") + ":0.5", "--adapter",
                    tmp.resolve("b").toString(), "--mode", mode, "-p", "Once upon a time", "-n", "10", "--temperature", "0.8",
                    "--top-p", "0.9", "--seed", "7", "--kv", "int8", "--quant", "q8_0");
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains("attached Attachment"), r.err());
        }
    }

    @Test
    void badInputGetsOneClearLine(@TempDir Path tmp) {
        Run missing = run("generate", tmp.resolve("nope.gguf").toString(), "-p", "x");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("model file not found"), missing.err());
        Run quant = run("generate", TestModels.ggufF32().toString(), "-p", "x", "--quant", "q5_k");
        assertEquals(2, quant.code());
        assertTrue(quant.err().contains("unknown quantization"), quant.err());
        Run overflow = run("generate", TestModels.ggufF32().toString(), "-p", "Once upon a time", "-n", "500");
        assertEquals(2, overflow.code());
        assertTrue(overflow.err().contains("exceeds the model's context length of 128"), overflow.err());
    }

    /** Functional check of the bench command on a tiny random model (figures are not asserted: benches are not tests). */
    @Test
    void benchRunsOnARandomShape() {
        Run r = run("bench", "--random-shape", "64,172,2,8,4,512,64", "--quant", "q8_0", "--threads", "2", "--prefill", "4",
                "--decode", "4", "--adapters", "2", "--rank", "4", "--bandwidth-mib", "4");
        assertEquals(0, r.code(), r.err());
        for (String s : new String[] {"read bandwidth", "[float dots]", "[int8 dots]", "MERGED: attach", "UNMERGED: attach", "summary:"}) {
            assertTrue(r.out().contains(s), "missing '" + s + "' in:\n" + r.out());
        }
    }

    /** The multi-tenant figures as one JSON object on stdout (the text report on stderr). */
    @Test
    void benchBatchFiguresAsJson() throws Exception {
        Run r = run("bench", "--random-shape", "64,172,2,8,4,512,64", "--quant", "q8_0", "--threads", "2", "--prefill", "4",
                "--decode", "4", "--adapters", "2", "--rank", "4", "--bandwidth-mib", "4", "--dot", "float",
                "--batch", "3", "--distinct-adapters", "--prompt-tokens", "40", "--json");
        assertEquals(0, r.code(), r.err());
        var json = new tools.jackson.databind.ObjectMapper().readTree(r.out());
        for (String k : new String[] {"decode_tok_s_batch1", "decode_tok_s_aggregate", "decode_tok_s_aggregate_base", "prefill_tok_s",
                "attach_ms", "detach_ms", "roofline_fraction", "decode_tok_s_aggregate_shared_merged"}) {
            assertTrue(json.get(k).asDouble() > 0, k + " in " + r.out());
        }
        assertEquals(3, json.get("batch").asInt());
        assertEquals("cpu", json.get("backend").asString());
        assertTrue(r.err().contains("aggregate decode"), r.err());
    }
}

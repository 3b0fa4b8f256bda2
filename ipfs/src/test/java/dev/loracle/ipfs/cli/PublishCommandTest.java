package dev.loracle.ipfs.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.ipfs.AdapterCache;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.FetchedContent;
import dev.loracle.ipfs.IpfsEndpoint;
import dev.loracle.ipfs.IpfsEndpoints;
import dev.loracle.ipfs.IpfsNodeProcess;
import dev.loracle.ipfs.VerifiedFetcher;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The publish CLI against a real node, then the published CID fetched back through the cache. */
class PublishCommandTest {
    private static IpfsNodeProcess node;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startNode() {
        node = IpfsNodeProcess.start();
    }

    @AfterAll
    static void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new PublishCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exit = cli.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private Path adapter() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("my-adapter"));
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":4}\n");
        byte[] weights = new byte[700_000];
        new Random(3).nextBytes(weights);
        Files.write(dir.resolve("adapter_model.safetensors"), weights);
        return dir;
    }

    @Test
    void publishPrintsTheCidV1OfTheAdapterDirectory() throws IOException {
        Path dir = adapter();
        Run hash = run("publish", dir.toString(), "--api", node.apiUrl().toString(), "--only-hash");
        assertEquals(0, hash.exit(), hash.err());
        Run published = run("publish", dir.toString(), "--api", node.apiUrl().toString());
        assertEquals(0, published.exit(), published.err());
        String text = published.out().strip();
        assertTrue(text.startsWith("bafy"), text);
        assertEquals(hash.out().strip(), text, "only-hash and a real add agree");
        Cid cid = Cid.parse(text);
        try (VerifiedFetcher f = VerifiedFetcher.builder()
                .endpoints(IpfsEndpoints.of(IpfsEndpoint.rpc("node", node.apiUrl()))).build();
             AdapterCache cache = AdapterCache.builder().directory(tmp.resolve("cache")).fetcher(f).build()) {
            FetchedContent c = cache.get(cid);
            for (String name : new String[]{"adapter_config.json", "adapter_model.safetensors"}) {
                assertArrayEquals(Files.readAllBytes(dir.resolve(name)), Files.readAllBytes(c.path().resolve(name)), name);
            }
        }
    }

    @Test
    void clearErrorsForBadInput() throws IOException {
        Path notAdapter = Files.createDirectories(tmp.resolve("empty"));
        Run missing = run("publish", notAdapter.toString(), "--api", node.apiUrl().toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("missing [adapter_config.json, adapter_model.safetensors]"), missing.err());
        Files.writeString(tmp.resolve("file.txt"), "x", StandardCharsets.UTF_8);
        Run notDir = run("publish", tmp.resolve("file.txt").toString(), "--api", node.apiUrl().toString());
        assertEquals(1, notDir.exit());
        assertTrue(notDir.err().contains("not a directory"), notDir.err());
        Run down = run("publish", adapter().toString(), "--api", "http://127.0.0.1:9", "--timeout", "PT2S");
        assertEquals(1, down.exit());
        assertTrue(down.err().contains("cannot connect"), down.err());
    }
}

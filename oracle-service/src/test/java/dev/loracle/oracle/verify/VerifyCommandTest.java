package dev.loracle.oracle.verify;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

class VerifyCommandTest {
    private static final List<String> PIECES = List.of(" Lily", " went", " to", " the", " park", ".");

    @Test
    void findsTheFirstTokenWhoseBytesDiffer() {
        assertThat(VerifyCommand.firstDifference(PIECES, " Lily went to a park.".getBytes(StandardCharsets.UTF_8))).isEqualTo(3);
        assertThat(VerifyCommand.firstDifference(PIECES, " Lucy went".getBytes(StandardCharsets.UTF_8))).isZero();
        // the chain's output stops early: the first token that no longer fits differs
        assertThat(VerifyCommand.firstDifference(PIECES, " Lily went".getBytes(StandardCharsets.UTF_8))).isEqualTo(2);
        // the chain's output is longer than the re-execution
        assertThat(VerifyCommand.firstDifference(PIECES, " Lily went to the park. More".getBytes(StandardCharsets.UTF_8))).isEqualTo(6);
    }

    @Test
    void badArgumentsCannotBeCheckedAndSayWhy() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertThat(VerifyCommand.run(new String[] {"12", "--rpc", "http://x"}, System.out, errStream)).isEqualTo(VerifyCommand.UNCHECKED);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--coordinator must be a 0x-prefixed 20-byte address");
        assertThat(VerifyCommand.run(new String[] {"zz", "--rpc", "http://x", "--coordinator", "0x" + "11".repeat(20)},
                System.out, errStream)).isEqualTo(VerifyCommand.UNCHECKED);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("REQUEST_ID must be decimal or 0x-hex");
    }

    @Test
    void anUnreachableChainCannotBeChecked() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[] {"0x01", "--rpc", "http://127.0.0.1:1", "--coordinator", "0x" + "11".repeat(20),
                "--json"}, new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        assertThat(code).isEqualTo(VerifyCommand.UNCHECKED);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("\"verdict\":\"UNCHECKED\"").contains("\"reason\"");
    }
}

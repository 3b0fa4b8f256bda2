package dev.loracle.oracle.verify;

import dev.loracle.contracts.ResultCommitment;
import org.web3j.protocol.Web3j;
import org.web3j.protocol.http.HttpService;
import org.web3j.utils.Numeric;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * {@code loracle verify REQUEST_ID --rpc URL --coordinator ADDR [--ipfs URL] [--models DIR] [--tokenizer FILE]
 * [--from-block N] [--json]}: reads a fulfilled request from the chain, re-executes it on the CPU backend with the
 * registered weights and numeric profile and the adapters from IPFS, and compares the output token by token. A session
 * turn is re-executed after its session's canonical history rebuilt from the chain (as the node does), and the session
 * head its fulfilment recorded is checked too.
 * Exit code 0 = MATCH, 1 = MISMATCH (with the first differing token), 2 = could not check (with the reason).
 */
public final class VerifyCommand {
    public static final int MATCH = 0;
    public static final int MISMATCH = 1;
    public static final int UNCHECKED = 2;

    static final String USAGE = """
            usage: loracle verify REQUEST_ID --rpc URL --coordinator ADDR [--ipfs URL] [--models DIR] [--tokenizer FILE]
                                  [--from-block N] [--json]
              Re-executes a fulfilled request on the CPU backend and compares it with the output on-chain; a session
              turn after the history rebuilt from the chain, checking the session head it recorded as well.
              REQUEST_ID   decimal or 0x-hex
              --rpc        JSON-RPC URL of the chain
              --coordinator InferenceCoordinator address
              --ipfs       IPFS RPC API for the adapters (default http://127.0.0.1:5001)
              --models     directory searched for the weights file by its registered sha256 (default $ORACLE_MODELS_DIR or ../shared/models)
              --tokenizer  tokenizer file for llama2.c models (default: tok*.bin beside the model)
              --from-block first block searched for the request's events (default 0)
              --json       print one JSON object instead of text
            exit code: 0 MATCH, 1 MISMATCH, 2 could not check""";

    private VerifyCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            err.println(USAGE);
            return UNCHECKED;
        }
        if (o == null) {
            out.println(USAGE);
            return MATCH;
        }
        ObjectNode json = JsonMapper.builder().build().createObjectNode();
        json.put("requestId", Numeric.toHexStringWithPrefixZeroPadded(o.requestId, 64));
        Web3j web3j = Web3j.build(new HttpService(o.rpc));
        Path work = null;
        try {
            OnChainResult chain = OnChainResult.read(web3j, o.coordinator, o.requestId, o.fromBlock);
            json.put("oracle", chain.oracle()).put("fulfilTx", chain.fulfilTx())
                    .put("modelId", Numeric.toHexString(chain.request().modelId))
                    .put("weightsHash", Numeric.toHexString(chain.weightsHash())).put("profile", chain.profile());
            byte[] expected = ResultCommitment.compute(o.requestId, new ResultCommitment.ModelBinding(chain.weightsHash(),
                    chain.profile()), chain.request(), chain.output());
            if (!Arrays.equals(expected, chain.resultCommitment())) {
                return unchecked(o, json, out, "the fulfilment's commitment does not match the registered model binding");
            }
            SessionTurnOnChain session = SessionTurnOnChain.read(web3j, o.coordinator, chain, o.fromBlock);
            work = Files.createTempDirectory("loracle-verify-");
            Reexecution.Output again = Reexecution.run(chain, session, o.models, o.tokenizer, o.ipfs, work);
            String onChain = new String(chain.output(), StandardCharsets.UTF_8);
            json.put("onChainOutput", onChain).put("regeneratedOutput", again.text()).put("tokens", again.pieces().size());
            String where = "  oracle " + chain.oracle() + ", fulfil tx " + chain.fulfilTx() + "\n  profile " + chain.profile();
            boolean headMatches = true;
            if (session != null) {
                headMatches = Arrays.equals(again.head(), session.recordedHead());
                json.putObject("session").put("sessionId", Numeric.toHexStringWithPrefixZeroPadded(session.sessionId(), 64))
                        .put("turn", session.index()).put("historyTokens", again.historyTokens())
                        .put("recordedHead", Numeric.toHexString(session.recordedHead()))
                        .put("computedHead", Numeric.toHexString(again.head())).put("headMatches", headMatches);
                where += "\n  session turn " + session.index() + " after a rebuilt history of " + again.historyTokens() + " tokens; head "
                        + (headMatches ? "matches " + Numeric.toHexString(again.head())
                        : "MISMATCH: recorded " + Numeric.toHexString(session.recordedHead()) + ", computed " + Numeric.toHexString(again.head()));
            }
            boolean outputMatches = Arrays.equals(again.text().getBytes(StandardCharsets.UTF_8), chain.output());
            if (outputMatches && headMatches) {
                json.put("verdict", "MATCH");
                print(o, json, out, "MATCH: request " + json.get("requestId").asString() + " re-executed to the same "
                        + chain.output().length + " bytes (" + again.pieces().size() + " tokens) on the CPU backend\n" + where);
                return MATCH;
            }
            json.put("verdict", "MISMATCH");
            if (outputMatches) {
                print(o, json, out, "MISMATCH: request " + json.get("requestId").asString() + " re-executed to the same output, but"
                        + " the session head its fulfilment recorded is not the head of the canonical history\n" + where);
                return MISMATCH;
            }
            int index = firstDifference(again.pieces(), chain.output());
            int offset = again.pieces().subList(0, index).stream().mapToInt(p -> p.getBytes(StandardCharsets.UTF_8).length).sum();
            String want = index < again.pieces().size() ? again.pieces().get(index) : "<end of output>";
            String got = offset < chain.output().length
                    ? abbreviate(new String(Arrays.copyOfRange(chain.output(), offset, chain.output().length), StandardCharsets.UTF_8))
                    : "<end of output>";
            json.putObject("firstDifferingToken").put("index", index).put("byteOffset", offset)
                    .put("regenerated", want).put("onChain", got);
            print(o, json, out, "MISMATCH: request " + json.get("requestId").asString() + " differs at token " + index
                    + " (byte " + offset + "): re-execution gives \"" + want + "\", the chain has \"" + got + "\"\n" + where);
            return MISMATCH;
        } catch (OnChainResult.Unavailable e) {
            return unchecked(o, json, out, e.getMessage());
        } catch (Exception e) {
            return unchecked(o, json, out, e.toString());
        } finally {
            web3j.shutdown();
            if (work != null) deleteTree(work);
        }
    }

    /** Index of the first regenerated token whose bytes are not where the on-chain output has them. */
    static int firstDifference(List<String> pieces, byte[] onChain) {
        int offset = 0;
        for (int i = 0; i < pieces.size(); i++) {
            byte[] p = pieces.get(i).getBytes(StandardCharsets.UTF_8);
            if (offset + p.length > onChain.length
                    || !Arrays.equals(p, Arrays.copyOfRange(onChain, offset, offset + p.length))) {
                return i;
            }
            offset += p.length;
        }
        return pieces.size(); // the chain's output is longer
    }

    private static int unchecked(Options o, ObjectNode json, PrintStream out, String reason) {
        json.put("verdict", "UNCHECKED").put("reason", reason);
        print(o, json, out, "COULD NOT CHECK request " + json.get("requestId").asString() + ": " + reason);
        return UNCHECKED;
    }

    private static void print(Options o, ObjectNode json, PrintStream out, String text) {
        out.println(o.json ? json.toString() : text);
    }

    private static String abbreviate(String s) {
        return s.length() <= 24 ? s : s.substring(0, 24) + "...";
    }

    private static void deleteTree(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (Exception ignored) {
            // a temp directory left behind is harmless
        }
    }

    record Options(BigInteger requestId, String rpc, String coordinator, String ipfs, Path models, Path tokenizer,
                   long fromBlock, boolean json) {
        /** Null for --help. */
        static Options parse(String[] args) {
            BigInteger id = null;
            String rpc = null, coordinator = null, ipfs = "http://127.0.0.1:5001";
            String modelsEnv = System.getenv("ORACLE_MODELS_DIR");
            Path models = modelsEnv != null && !modelsEnv.isBlank() ? Path.of(modelsEnv) : Path.of("../shared/models");
            Path tokenizer = null;
            long fromBlock = 0;
            boolean json = false;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "-h", "--help" -> {
                        return null;
                    }
                    case "--json" -> json = true;
                    case "--rpc" -> rpc = value(args, ++i, a);
                    case "--coordinator" -> coordinator = value(args, ++i, a);
                    case "--ipfs" -> ipfs = value(args, ++i, a);
                    case "--models" -> models = Path.of(value(args, ++i, a));
                    case "--tokenizer" -> tokenizer = Path.of(value(args, ++i, a));
                    case "--from-block" -> fromBlock = Long.parseLong(value(args, ++i, a));
                    default -> {
                        if (a.startsWith("-") || id != null) throw new IllegalArgumentException("unexpected argument '" + a + "'");
                        try {
                            id = a.startsWith("0x") ? new BigInteger(a.substring(2), 16) : new BigInteger(a);
                        } catch (NumberFormatException e) {
                            throw new IllegalArgumentException("REQUEST_ID must be decimal or 0x-hex, got '" + a + "'");
                        }
                    }
                }
            }
            if (id == null) throw new IllegalArgumentException("REQUEST_ID is missing");
            if (rpc == null) throw new IllegalArgumentException("--rpc is required");
            if (coordinator == null || !coordinator.matches("0x[0-9a-fA-F]{40}")) {
                throw new IllegalArgumentException("--coordinator must be a 0x-prefixed 20-byte address");
            }
            return new Options(id, rpc, coordinator, ipfs, models, tokenizer, fromBlock, json);
        }

        private static String value(String[] args, int i, String flag) {
            if (i >= args.length) throw new IllegalArgumentException(flag + " needs a value");
            return args[i];
        }
    }
}

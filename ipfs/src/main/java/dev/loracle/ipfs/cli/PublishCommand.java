package dev.loracle.ipfs.cli;

import dev.loracle.ipfs.AdapterPublisher;
import dev.loracle.ipfs.Cid;
import dev.loracle.ipfs.IpfsException;
import dev.loracle.ipfs.KuboRpcClient;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loracle-ipfs publish <adapterDir> --api URL}: adds a PEFT adapter directory and prints its CIDv1. */
@Command(name = "loracle-ipfs", mixinStandardHelpOptions = true, version = "loracle-ipfs 0.1.0",
        description = "IPFS tools for Loracle adapters.", subcommands = PublishCommand.Publish.class)
public final class PublishCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 2;
    }

    @Command(name = "publish", mixinStandardHelpOptions = true,
            description = "Add a PEFT adapter directory (adapter_config.json + adapter_model.safetensors) to an IPFS "
                    + "node, pinned, and print its CID (CIDv1, base32) on stdout.")
    static final class Publish implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "ADAPTER_DIR", description = "the adapter directory")
        Path adapterDir;

        @Option(names = "--api", defaultValue = "http://127.0.0.1:5001",
                description = "IPFS RPC API URL (Kubo or js-ipfs), default ${DEFAULT-VALUE}")
        URI api;

        @Option(names = "--only-hash", description = "compute the CID without storing or pinning anything")
        boolean onlyHash;

        @Option(names = "--timeout", defaultValue = "PT60S", description = "RPC timeout (ISO-8601), default ${DEFAULT-VALUE}")
        Duration timeout;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                AdapterPublisher publisher = new AdapterPublisher(new KuboRpcClient(api, timeout));
                Cid cid = onlyHash ? publisher.computeCid(adapterDir) : publisher.publish(adapterDir);
                out.println(cid);
                out.flush();
                return 0;
            } catch (IllegalArgumentException | IpfsException e) {
                err.println("error: " + e.getMessage());
                err.flush();
                return 1;
            }
        }
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new PublishCommand()).execute(args));
    }
}

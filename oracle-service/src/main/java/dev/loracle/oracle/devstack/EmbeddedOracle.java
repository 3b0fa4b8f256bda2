package dev.loracle.oracle.devstack;

import dev.loracle.oracle.OracleApplication;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * An oracle node inside this JVM (the demo's default: one process to start and stop). Its settings are passed as
 * command-line properties, which outrank any application.yml, so the dev stack's chain, IPFS and model win.
 */
public final class EmbeddedOracle implements AutoCloseable {
    private final ConfigurableApplicationContext context;
    private final OracleSettings settings;

    private EmbeddedOracle(ConfigurableApplicationContext context, OracleSettings settings) {
        this.context = context;
        this.settings = settings;
    }

    /**
     * Starts the node; its log goes to {@code <dataDir>/oracle.log} and only warnings reach the console, so the
     * demo's progress lines stay readable.
     */
    public static EmbeddedOracle start(OracleSettings settings) {
        List<String> args = new ArrayList<>(List.of(settings.toArgs()));
        args.add("--logging.file.name=" + settings.dataDir().resolve("oracle.log"));
        args.add("--logging.threshold.console=WARN");
        ConfigurableApplicationContext context = new SpringApplicationBuilder(OracleApplication.class)
                .main(OracleApplication.class) // log as the node, not as the demo that embeds it
                .registerShutdownHook(false) // the dev stack's own hook closes it in order
                .run(args.toArray(String[]::new));
        return new EmbeddedOracle(context, settings);
    }

    public OracleSettings settings() {
        return settings;
    }

    public boolean isRunning() {
        return context.isActive();
    }

    @Override
    public void close() {
        if (context.isActive()) {
            context.close();
        }
    }
}

package dev.loracle.oracle.it;

import dev.loracle.oracle.OracleApplication;
import dev.loracle.oracle.TestDatabases;
import dev.loracle.oracle.journal.JournalEntry;
import dev.loracle.oracle.journal.RequestJournal;
import dev.loracle.oracle.journal.RequestState;
import dev.loracle.oracle.journal.TransitionListener;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** Starts the real Spring Boot node (same main class as production) against a chain, the IPFS node and a journal. */
public final class OracleNode implements AutoCloseable {
    public static final String API_KEY = "test-api-key";
    public static final String ADMIN_KEY = "test-admin-key";

    public final ConfigurableApplicationContext context;

    private OracleNode(ConfigurableApplicationContext context) {
        this.context = context;
    }

    public static Map<String, Object> properties(LocalStack stack, LocalStack.Chain chain, TestDatabases.Db db, Path cacheDir) {
        Map<String, Object> p = new HashMap<>(db.springProperties());
        p.put("server.port", "0");
        p.put("loracle.chain.enabled", chain != null);
        if (chain != null) {
            p.put("loracle.chain.rpc-urls", chain.anvil.httpUrl());
            p.put("loracle.chain.ws-url", chain.anvil.wsUrl());
            p.put("loracle.chain.coordinator-address", chain.deployment.coordinator());
            p.put("loracle.chain.start-block", String.valueOf(chain.deployment.deployBlock()));
        }
        p.put("loracle.chain.poll-interval", "200ms");
        p.put("loracle.tx.receipt-poll-interval", "100ms");
        p.put("loracle.key.private-key", LocalStack.ORACLE.getEcKeyPair().getPrivateKey().toString(16));
        p.put("loracle.ipfs.api-urls", stack.ipfs.apiUrl().toString());
        p.put("loracle.ipfs.cache-dir", cacheDir.toString());
        p.put("loracle.ipfs.fetch-timeout", "3s");
        p.put("loracle.model.path", stack.model.toString());
        p.put("loracle.model.tokenizer-path", stack.tokenizer.toString());
        p.put("loracle.api.keys", API_KEY);
        p.put("loracle.api.admin-keys", ADMIN_KEY);
        p.put("loracle.scheduler.shutdown-timeout", "2s");
        return p;
    }

    public static OracleNode start(Map<String, Object> properties, TransitionListener... extraListeners) {
        // as command-line arguments: they win over application.yml (builder "properties" are only defaults)
        String[] args = properties.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new);
        SpringApplicationBuilder b = new SpringApplicationBuilder(OracleApplication.class);
        b.initializers(ctx -> {
            for (int i = 0; i < extraListeners.length; i++) {
                ctx.getBeanFactory().registerSingleton("testListener" + i, extraListeners[i]);
            }
        });
        return new OracleNode(b.run(args));
    }

    public <T> T bean(Class<T> type) {
        return context.getBean(type);
    }

    public int port() {
        return Integer.parseInt(context.getEnvironment().getProperty("local.server.port"));
    }

    public JournalEntry awaitState(String id, Set<RequestState> wanted, Duration timeout) throws InterruptedException {
        return awaitState(bean(RequestJournal.class), id, wanted, timeout);
    }

    public static JournalEntry awaitState(RequestJournal journal, String id, Set<RequestState> wanted, Duration timeout)
            throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        JournalEntry last = null;
        while (System.nanoTime() < end) {
            last = journal.find(id).orElse(null);
            if (last != null && wanted.contains(last.state())) return last;
            Thread.sleep(50);
        }
        throw new AssertionError("request " + id + " did not reach " + wanted + " within " + timeout + "; last: "
                + (last == null ? "not journaled" : last.state() + " (" + last.reason() + ")"));
    }

    @Override
    public void close() {
        context.close();
    }
}

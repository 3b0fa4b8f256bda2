package dev.loracle.it;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The happy path with the production journal store: the local PostgreSQL server (127.0.0.1:5432, database
 * {@code test}, user {@code postgres}, trust auth), in a schema of its own that is dropped afterwards. Skips with a
 * visible reason where no server answers (override with -Dloracle.it.postgresUrl).
 */
class PostgresJournalIT {
    @Test
    void happyPathWithPostgresJournal() throws Exception {
        String base = System.getProperty("loracle.it.postgresUrl", "jdbc:postgresql://127.0.0.1:5432/test");
        String user = System.getProperty("loracle.it.postgresUser", "postgres");
        String schema = "loracle_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (Connection c = connect(base, user)) {
            assumeTrue(c != null, "PostgreSQL not reachable at " + base + " as " + user + ": test skipped");
            try (Statement st = c.createStatement()) {
                st.execute("CREATE SCHEMA " + schema);
            }
            try (E2eStack stack = E2eStack.builder().jdbc(base + "?currentSchema=" + schema, user).start()) {
                HappyPathScenario.run(stack, "happy path (PostgreSQL journal)", Duration.ofSeconds(90));
            } finally {
                try (Statement st = c.createStatement()) {
                    st.execute("DROP SCHEMA " + schema + " CASCADE");
                }
            }
        }
    }

    private static Connection connect(String url, String user) {
        try {
            DriverManager.setLoginTimeout(3);
            return DriverManager.getConnection(url, user, "");
        } catch (SQLException e) {
            System.out.println("[it] PostgreSQL unavailable: " + e.getMessage());
            return null;
        }
    }
}
